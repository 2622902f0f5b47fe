import { BaseCommand } from "../base-command.js";
import { configFlags, imageFlags, servicesArgs } from "../flags.js";
import { buildImages } from "../lib/build/image.js";
import { selectEngine, type EngineName } from "../lib/build/image-engine.js";
import { imageProject } from "../lib/build/image-project.js";
import { EXIT } from "../lib/output/errors.js";

export interface BuildJson {
  engine: EngineName;
  baseImage: string;
  images: {
    service: string;
    ok: boolean;
    /** content hash: the image tag */
    tag?: string;
    version?: string;
    /** local reference, `localhost/gs/<service>:<tag>` */
    image?: string;
    /** false: the engine already had this tag */
    built?: boolean;
    seconds?: number;
    error?: string;
  }[];
}

export default class Build extends BaseCommand {
  static override summary = "Build service images (one Dockerfile, tagged by content hash), in parallel.";
  static override description =
    "Bundles each service with esbuild and builds its image with docker (buildx) or buildah. An image whose content hash the engine already holds is not rebuilt.";
  static override examples = [
    "<%= config.bin %> build",
    "<%= config.bin %> build auth payment --engine buildah",
    "<%= config.bin %> build --base-image node:20-slim --json",
  ];
  static override strict = false;
  static override args = servicesArgs;
  static override flags = { ...configFlags, ...imageFlags };

  async run(): Promise<BuildJson> {
    const { argv, flags } = await this.parse(Build);
    const project = imageProject({
      cwd: process.cwd(),
      config: flags.config,
      services: argv as string[],
      baseImage: flags["base-image"],
    });
    const engine = await selectEngine(flags.engine);
    const json = this.jsonEnabled();
    const results = await buildImages(project.services, engine, {
      ...project.image,
      onProgress: (p) => {
        if (!json && p.stage !== "bundling")
          this.note(`${p.service}: ${p.stage}${p.detail && p.stage !== "failed" ? ` ${p.detail}` : ""}`);
      },
    });
    for (const r of results) if (!r.ok) this.note(`${this.color("red", "error:")} ${r.service}: ${r.error.message}`);
    const ok = results.filter((r) => r.ok).length;
    this.out(`${ok} of ${results.length} images ready (${engine.name})`);
    if (ok < results.length) this.setExit(EXIT.failed);
    return {
      engine: engine.name,
      baseImage: project.image.baseImage,
      images: results.map((r) =>
        r.ok
          ? {
              service: r.service,
              ok: true,
              tag: r.image.tag,
              version: r.image.version,
              image: r.image.localRef,
              built: r.image.built,
              seconds: r.image.seconds,
            }
          : { service: r.service, ok: false, error: r.error.message },
      ),
    };
  }
}
