// A local certificate authority for `gs up --secure`: a CA, one server certificate (client
// connections and cluster routes, 127.0.0.1 and localhost) and one client certificate, made with the
// openssl CLI. Every file is 0600 in a 0700 folder; the CA is kept so certificates outlive a restart.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { OperationError } from "../../../output/errors.js";

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface LocalPki {
  ca: string;
  server: TlsFiles;
  client: TlsFiles;
}

const DAYS = "825";

function pkiPaths(dir: string): LocalPki {
  const ca = path.join(dir, "ca.pem");
  return {
    ca,
    server: { ca, cert: path.join(dir, "server.pem"), key: path.join(dir, "server.key") },
    client: { ca, cert: path.join(dir, "client.pem"), key: path.join(dir, "client.key") },
  };
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execa("openssl", args, { cwd, stdin: "ignore" });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; shortMessage?: string };
    if (e.code === "ENOENT") {
      throw new OperationError("openssl not found on PATH: `gs up --secure` makes its certificates with it", {
        hint: "install it with `apt-get install openssl`",
        code: "openssl_missing",
      });
    }
    const line = (e.stderr ?? e.shortMessage ?? "").trim().split("\n").at(-1);
    throw new OperationError(`openssl failed: ${line}`, {
      hint: "check the openssl installation",
      code: "openssl_failed",
    });
  }
}

const secure = (file: string) => chmodSync(file, 0o600);

/** Create the CA (once) and fresh server and client certificates signed by it. */
export async function ensureLocalPki(dir: string, opts: { commonName?: string } = {}): Promise<LocalPki> {
  const p = pkiPaths(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const caKey = path.join(dir, "ca.key");
  if (!existsSync(caKey) || !existsSync(p.ca)) {
    await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", caKey], dir);
    secure(caKey);
    await openssl(
      [
        "req",
        "-x509",
        "-new",
        "-key",
        caKey,
        "-sha256",
        "-days",
        DAYS,
        "-subj",
        `/CN=${opts.commonName ?? "gs local CA"}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        p.ca,
      ],
      dir,
    );
    secure(p.ca);
  }
  await issue(
    dir,
    caKey,
    p.ca,
    p.server,
    "gs-nats-server",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await issue(dir, caKey, p.ca, p.client, "gs-client", "extendedKeyUsage=clientAuth\n");
  return p;
}

async function issue(
  dir: string,
  caKey: string,
  caCert: string,
  out: TlsFiles,
  cn: string,
  ext: string,
): Promise<void> {
  const csr = `${out.cert}.csr`;
  const extFile = `${out.cert}.ext`;
  try {
    await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out.key], dir);
    secure(out.key);
    await openssl(["req", "-new", "-key", out.key, "-subj", `/CN=${cn}`, "-out", csr], dir);
    writeFileSync(extFile, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${ext}`, {
      mode: 0o600,
    });
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        caCert,
        "-CAkey",
        caKey,
        "-set_serial",
        `0x${randomBytes(12).toString("hex")}`,
        "-days",
        DAYS,
        "-sha256",
        "-extfile",
        extFile,
        "-out",
        out.cert,
      ],
      dir,
    );
    secure(out.cert);
  } finally {
    rmSync(csr, { force: true });
    rmSync(extFile, { force: true });
  }
}
