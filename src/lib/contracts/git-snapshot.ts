// The proto/ directory as it was at a git ref, extracted into a temp directory (`git archive | tar -x`),
// for `gs proto check --against REF`.
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { UsageError } from "../output/errors.js";

export interface GitSnapshot {
  /** proto/ as it was at the ref */
  dir: string;
  /** the full commit the ref named */
  commit: string;
  remove(): void;
}

export async function protoAtRef(protoDir: string, ref: string): Promise<GitSnapshot> {
  const real = realpathSync(protoDir);
  const top = await execa("git", ["-C", real, "rev-parse", "--show-toplevel"], { reject: false, stdin: "ignore" });
  if (top.exitCode !== 0)
    throw new UsageError(
      `${protoDir} is not in a git repository, so there is no ${ref} to compare with`,
      "run gs inside the repository, or compare with the running fleet: --against fleet",
      "not_a_git_repository",
    );
  const root = top.stdout.trim();
  // "-" first would make the ref an option of git
  const commit = ref.startsWith("-")
    ? undefined
    : await execa("git", ["-C", root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
        reject: false,
        stdin: "ignore",
      });
  if (!commit || commit.exitCode !== 0)
    throw new UsageError(
      `unknown git ref "${ref}"`,
      "name a branch, tag or commit of this repository (git log --oneline), or --against fleet",
      "unknown_git_ref",
    );
  const rel = path.relative(root, real) || ".";
  const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-proto-ref-"));
  const remove = () => rmSync(tmp, { recursive: true, force: true });
  try {
    const sha = commit.stdout.trim();
    const archive = await execa("git", ["-C", root, "archive", "--format=tar", sha, "--", rel], {
      encoding: "buffer",
      reject: false,
      stdin: "ignore",
    });
    if (archive.exitCode !== 0 || !existsSync(tmp))
      throw new UsageError(
        `${rel}/ does not exist at ${ref}`,
        "name a ref that has the .proto files, or --against fleet",
        "no_proto_at_ref",
      );
    await execa("tar", ["-x", "-C", tmp], { input: archive.stdout });
    const dir = path.join(tmp, rel);
    if (!existsSync(dir))
      throw new UsageError(
        `${rel}/ does not exist at ${ref}`,
        "name a ref that has the .proto files",
        "no_proto_at_ref",
      );
    return { dir, commit: sha, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
