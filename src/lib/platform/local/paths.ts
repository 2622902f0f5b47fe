// Where the local fleet keeps everything: `<project>/.gs/` (git-ignored), or $GS_HOME.
import path from "node:path";

export interface LocalPaths {
  /** the project: the folder of gs.yaml */
  root: string;
  /** .gs/ itself */
  home: string;
  /** the fleet record other commands read (`nats.url`) */
  record: string;
  /** what the detached supervisor was asked to run */
  spec: string;
  /** the supervisor's own output */
  supervisorLog: string;
  /** `<logs>/<service>/<instance>.log` */
  logs: string;
  /** `<builds>/<service>/<hash>.mjs` */
  builds: string;
  /** `<nats>/<node>/` JetStream data and the node's config */
  nats: string;
  /** `gs up --state redis`: `<redis>/<node>/` each Redis node's config, nodes.conf and AOF data */
  redis: string;
  /** instance health files */
  run: string;
  /** `gs up --secure`: CA, certificates and nkey seeds (0700 folder, 0600 files) */
  secure: string;
  /** `<history>/<service>.jsonl`: one line per rollout outcome, what `gs history` reads */
  history: string;
}

export function localPaths(root: string, env: NodeJS.ProcessEnv = process.env): LocalPaths {
  const home = env.GS_HOME ? path.resolve(root, env.GS_HOME) : path.join(root, ".gs");
  return {
    root,
    home,
    record: path.join(home, "local.json"),
    spec: path.join(home, "supervisor.json"),
    supervisorLog: path.join(home, "supervisor.log"),
    logs: path.join(home, "logs"),
    builds: path.join(home, "builds"),
    nats: path.join(home, "nats"),
    redis: path.join(home, "redis"),
    run: path.join(home, "run"),
    secure: path.join(home, "secure"),
    history: path.join(home, "history"),
  };
}

/** The project root: the folder of gs.yaml, else the working directory. */
export function projectRoot(configFile: string | undefined, cwd: string): string {
  return configFile ? path.dirname(path.resolve(cwd, configFile)) : path.resolve(cwd);
}
