import { ConfigError, createPartnerCenterTokens, isUserTokenProvider } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";

/** How long `cosell login` waits for the code to be approved (Entra ID's codes live 15 minutes). */
const DEFAULT_LOGIN_TIMEOUT_SECONDS = 900;

/**
 * `cosell login`: signs the Partner Center user in with the device-code flow and keeps the account in
 * the token cache (`partnerCenter.auth.tokenCache`, 0600). `--status` only shows who is signed in;
 * `--logout` forgets the account.
 */
export function registerLogin(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("login")
    .description(
      "sign in to Partner Center as a user (device code): prints an address and a code, waits for approval",
    )
    .option("--status", "only show who is signed in", false)
    .option("--logout", "forget the signed-in account", false)
    .option("--timeout <seconds>", "give up after this many seconds (default 900)")
    .action(
      action(ctx, box, async (opts: { status: boolean; logout: boolean; timeout?: string }) => {
        const loaded = ctx.config();
        const pc = loaded.config.partnerCenter;
        if (pc.auth.kind !== "user")
          throw new ConfigError(
            "LOGIN_NOT_USER_AUTH",
            'partnerCenter.auth.kind: "app" — this config uses app-only client credentials, which Microsoft does not accept for referrals; nobody signs in. Set partnerCenter.auth.kind to user (and remove the app credentials) to sign in as a Partner Center user.',
            { key: "partnerCenter.auth.kind" },
          );
        const timeout = opts.timeout === undefined ? DEFAULT_LOGIN_TIMEOUT_SECONDS : Number(opts.timeout);
        if (!Number.isInteger(timeout) || timeout < 1)
          throw new ConfigError(
            "LOGIN_BAD_TIMEOUT",
            `--timeout: "${opts.timeout}" — give whole seconds, e.g. --timeout 600.`,
            {
              key: "--timeout",
            },
          );
        const tokens = createPartnerCenterTokens(pc);
        if (!isUserTokenProvider(tokens)) throw new Error("expected the user token provider");
        const cache = pc.auth.tokenCache;
        if (opts.status) {
          const account = await tokens.account();
          ctx.output({ ok: !!account, signedIn: account ?? null, tokenCache: cache }, () =>
            account
              ? `Signed in to Partner Center as ${account.username} (tenant ${account.tenantId}); token cache ${cache}.`
              : `Nobody is signed in (token cache ${cache}). Run \`cosell login\`.`,
          );
          return account ? 0 : 1;
        }
        if (opts.logout) {
          const had = await tokens.logout();
          ctx.output({ ok: true, signedOut: had }, () =>
            had ? "Signed out: the account was removed from the token cache." : "Nobody was signed in.",
          );
          return 0;
        }
        const account = await tokens.login({
          timeoutSeconds: timeout,
          onCode: (p) => {
            // The prompt goes to stderr so that --json keeps stdout machine-readable.
            ctx.io.stderr.write(
              `${p.message}\nSign in as the Partner Center user cosell should act as (Referral Admin role). Waiting up to ${Math.round(Math.min(timeout, p.expiresInSeconds) / 60)} minutes…\n`,
            );
          },
        });
        ctx.output(
          { ok: true, signedIn: account, tokenCache: cache },
          () =>
            `Signed in to Partner Center as ${account.username} (tenant ${account.tenantId}). The sign-in is kept in ${cache} (readable only by this user); it is refreshed on every run.`,
        );
        return 0;
      }),
    );
}
