import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { ICachePlugin, TokenCacheContext } from "@azure/msal-node";
import { ConfigError, errorMessage, StorageError } from "../errors.js";

/** Marks an encrypted cache file; a plain one is msal's own JSON. */
const ENCRYPTED_FORMAT = "cosell-token-cache";
/** The shortest key accepted for `tokenCacheKey` (e.g. `openssl rand -base64 32` gives 44 characters). */
export const MIN_TOKEN_CACHE_KEY_LENGTH = 32;

interface EncryptedEnvelope {
  format: typeof ENCRYPTED_FORMAT;
  version: 1;
  cipher: "aes-256-gcm";
  kdf: "scrypt";
  salt: string;
  iv: string;
  tag: string;
  data: string;
}

/**
 * Writes `data` to `path` so that a reader only ever sees the old or the new content, owner-only:
 * a temp file (0600) in the same folder, fsync, rename over the target, fsync the folder.
 * Throws the file system's error; callers wrap it.
 */
export function writeFileAtomic0600(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o600);
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file was never created, or is already gone
    }
    throw e;
  }
  try {
    // The rename is durable only once the folder entry is; not every platform lets a folder be fsynced.
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // best effort
  }
}

/**
 * msal-node's token cache kept in one file readable only by the service user (0600), optionally
 * encrypted with AES-256-GCM under a key derived (scrypt, random salt) from `key`.
 *
 * Loading happens before every msal cache access, so a `cosell login` in another process is seen by a
 * running `cosell run`. Saving is atomic ({@link writeFileAtomic0600}). A failed save does not fail
 * msal's call (the tokens it got are still good for this process): it is kept and handed out by
 * {@link takeSaveError}, so the caller can report it as a storage error, not as a sign-in failure.
 */
export class TokenCacheFile implements ICachePlugin {
  private saveError: StorageError | undefined;
  private readonly derived = new Map<string, Buffer>();

  /**
   * @param path Absolute path of the cache file.
   * @param key Optional encryption key (at least {@link MIN_TOKEN_CACHE_KEY_LENGTH} characters).
   * @param keySetting Name of the setting the key comes from, for messages.
   */
  constructor(
    readonly path: string,
    private readonly key?: string,
    private readonly keySetting = "partnerCenter.auth.tokenCacheKey",
  ) {
    if (key !== undefined && key.length < MIN_TOKEN_CACHE_KEY_LENGTH)
      throw new ConfigError(
        "CONFIG_INVALID",
        `${keySetting}: (hidden) — too short (${key.length} characters); give at least ${MIN_TOKEN_CACHE_KEY_LENGTH}, e.g. the output of \`openssl rand -base64 32\`.`,
        { key: keySetting },
      );
  }

  /** Whether the file exists. */
  exists(): boolean {
    try {
      statSync(this.path);
      return true;
    } catch {
      return false;
    }
  }

  /** The cache's JSON (msal's serialization), or `undefined` when there is no file yet. */
  load(): string | undefined {
    let raw: string;
    try {
      raw = readFileSync(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StorageError(
        "TOKEN_CACHE_UNREADABLE",
        `Cannot read the Partner Center token cache ${this.path} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}). Run cosell as the user that owns the file, or fix its permissions (chmod 600).`,
        { path: this.path },
        { cause: e },
      );
    }
    this.tightenMode();
    if (raw.trim() === "") return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      throw new StorageError(
        "TOKEN_CACHE_CORRUPT",
        `The Partner Center token cache ${this.path} is not valid JSON. Delete it and run \`cosell login\` again.`,
        { path: this.path },
        { cause: e },
      );
    }
    if (isEnvelope(parsed)) return this.decrypt(parsed);
    // A plain cache while a key is configured is read as is and encrypted by the next save.
    return raw;
  }

  /** Writes the cache (encrypted when a key is configured), atomically, mode 0600. */
  save(serialized: string): void {
    const text = this.key ? `${JSON.stringify(this.encrypt(serialized))}\n` : serialized;
    try {
      writeFileAtomic0600(this.path, text);
    } catch (e) {
      throw new StorageError(
        "TOKEN_CACHE_WRITE_FAILED",
        `Could not save the Partner Center token cache ${this.path} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}). The sign-in itself worked; free disk space or make the folder writable by this user, then run \`cosell login\` again.`,
        { path: this.path },
        { cause: e },
      );
    }
  }

  async beforeCacheAccess(ctx: TokenCacheContext): Promise<void> {
    const text = this.load();
    if (text !== undefined) ctx.tokenCache.deserialize(text);
  }

  async afterCacheAccess(ctx: TokenCacheContext): Promise<void> {
    if (!ctx.cacheHasChanged) return;
    try {
      this.save(ctx.tokenCache.serialize());
    } catch (e) {
      this.saveError = e instanceof StorageError ? e : undefined;
      if (!this.saveError) throw e;
    }
  }

  /** The last failed save since the previous call, if any (then forgotten). */
  takeSaveError(): StorageError | undefined {
    const e = this.saveError;
    this.saveError = undefined;
    return e;
  }

  private tightenMode(): void {
    try {
      if ((statSync(this.path).mode & 0o077) !== 0) chmodSync(this.path, 0o600);
    } catch {
      // not ours to change: the read worked, which is what matters here
    }
  }

  private keyFor(salt: Buffer): Buffer {
    const id = salt.toString("base64");
    let k = this.derived.get(id);
    if (!k) {
      k = scryptSync(this.key ?? "", salt, 32);
      this.derived.set(id, k);
    }
    return k;
  }

  /** One salt per process: the derived key is computed once, each save still gets a fresh IV. */
  private salt: Buffer | undefined;

  private encrypt(plain: string): EncryptedEnvelope {
    this.salt ??= randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keyFor(this.salt), iv);
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return {
      format: ENCRYPTED_FORMAT,
      version: 1,
      cipher: "aes-256-gcm",
      kdf: "scrypt",
      salt: this.salt.toString("base64"),
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      data: data.toString("base64"),
    };
  }

  private decrypt(env: EncryptedEnvelope): string {
    if (!this.key)
      throw new StorageError(
        "TOKEN_CACHE_KEY_REQUIRED",
        `The Partner Center token cache ${this.path} is encrypted but no key is configured. Set ${this.keySetting} to the same env:/file: reference used when signing in, or delete the file and run \`cosell login\` again.`,
        { path: this.path, key: this.keySetting },
      );
    try {
      const salt = Buffer.from(env.salt, "base64");
      const decipher = createDecipheriv("aes-256-gcm", this.keyFor(salt), Buffer.from(env.iv, "base64"));
      decipher.setAuthTag(Buffer.from(env.tag, "base64"));
      const plain = Buffer.concat([decipher.update(Buffer.from(env.data, "base64")), decipher.final()]);
      this.salt ??= salt;
      return plain.toString("utf8");
    } catch (e) {
      throw new StorageError(
        "TOKEN_CACHE_KEY_WRONG",
        `The Partner Center token cache ${this.path} cannot be decrypted with the key in ${this.keySetting} (wrong key, or the file was altered). Give the key used when signing in, or delete the file and run \`cosell login\` again.`,
        { path: this.path, key: this.keySetting },
        { cause: e },
      );
    }
  }
}

function isEnvelope(v: unknown): v is EncryptedEnvelope {
  return (
    !!v &&
    typeof v === "object" &&
    (v as { format?: unknown }).format === ENCRYPTED_FORMAT &&
    typeof (v as { data?: unknown }).data === "string"
  );
}
