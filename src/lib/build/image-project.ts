// What `gs build` and `gs push` work on: the project of gs.yaml, its services, and the image options.
import path from "node:path";
import { loadConfig, serviceSettings, type GsConfig } from "../config/load.js";
import { checkConfigServices } from "../config/service-names.js";
import { localPaths, projectRoot } from "../platform/local/paths.js";
import { DEFAULT_BASE_IMAGE, type ImageOptions } from "./image.js";

export interface ImageProject {
  cfg: GsConfig;
  /** the services asked for, or all of gs.yaml's */
  services: string[];
  image: ImageOptions;
}

/** `cfg`: gs.yaml already loaded (and validated) from `cwd`; without it, read here. */
export function imageProject(opts: {
  cwd: string;
  config?: string;
  cfg?: GsConfig;
  services?: string[];
  baseImage?: string;
  env?: NodeJS.ProcessEnv;
}): ImageProject {
  const env = opts.env ?? process.env;
  const cfg = opts.cfg ?? loadConfig({ cwd: opts.cwd, file: opts.config, env });
  const root = projectRoot(cfg.file, opts.cwd);
  const known = serviceSettings(cfg).map((s) => s.name);
  const asked = opts.services?.length ? [...new Set(opts.services)] : known;
  checkConfigServices(asked, cfg);
  const salt = env.GS_BUILD_SALT || undefined;
  return {
    cfg,
    services: asked,
    image: {
      root,
      baseImage: opts.baseImage || env.GS_BASE_IMAGE || DEFAULT_BASE_IMAGE,
      salt,
      bundle: {
        servicesDir: path.join(root, "services"),
        protoDir: path.join(root, "proto"),
        outDir: localPaths(root, env).builds,
        salt,
      },
    },
  };
}
