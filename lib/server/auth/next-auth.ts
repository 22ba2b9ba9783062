import "server-only";
import NextAuth, { CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { env, isOidcConfigured } from "../env";
import { getDb } from "../db/instance";
import { localSessionUser, verifyLocalSignIn, type SignInFailure } from "./local-sign-in";
import { groupsFromClaim, provisionSsoUser } from "./sso";
import { clientIp } from "./request-context";
import { log } from "../log";
import { sessionMfaAt } from "./mfa-time";

class LocalSignInError extends CredentialsSignin {
  constructor(reason: SignInFailure) {
    super();
    this.code = reason;
  }
}

declare module "next-auth" {
  interface Session {
    mfa: boolean;
    /** When the second factor was last proven (epoch ms): step-up asks for it again when it is old. */
    mfaAt?: number | null;
  }
  interface User {
    mfa?: boolean;
    /**
     * When the second factor was proven (epoch seconds): the IdP's `auth_time` when it sent one (when
     * the person really signed in there), or the moment a local sign-in checked the TOTP code.
     */
    authTime?: number | null;
  }
}

// Identity providers report MFA in `amr` (RFC 8176) with different words.
const MFA_AMR = new Set(["mfa", "otp", "hwk", "swk", "fpt", "face", "sms", "pop", "totp"]);

function config(): NextAuthConfig {
  const e = env();
  const providers: NextAuthConfig["providers"] = [
    Credentials({
      id: "credentials",
      name: "Email and password",
      credentials: { email: {}, password: {}, code: {} },
      async authorize(credentials, request) {
        const db = await getDb();
        const result = await verifyLocalSignIn(db, credentials, { ip: clientIp(request.headers) });
        if (!result.ok) throw new LocalSignInError(result.reason);
        return localSessionUser(result);
      },
    }),
  ];
  if (isOidcConfigured()) {
    providers.push({
      id: "oidc",
      name: e.OIDC_NAME,
      type: "oidc",
      issuer: e.OIDC_ISSUER,
      clientId: e.OIDC_CLIENT_ID,
      clientSecret: e.OIDC_CLIENT_SECRET,
      checks: ["pkce", "state", "nonce"],
      authorization: { params: { scope: e.OIDC_SCOPE } },
      profile(profile) {
        const amr = Array.isArray(profile.amr) ? profile.amr : [];
        return {
          id: String(profile.sub),
          email: typeof profile.email === "string" ? profile.email : null,
          name: typeof profile.name === "string" ? profile.name : null,
          mfa: amr.some((m: unknown) => typeof m === "string" && MFA_AMR.has(m)),
          authTime: typeof profile.auth_time === "number" ? profile.auth_time : null,
        };
      },
    });
  }

  return {
    trustHost: true,
    // Auth.js logs every refused sign-in with a stack trace; ours are expected events (already in
    // the audit trail), and stack traces stay out of logs.
    logger: {
      error(error) {
        // `type` survives minification; class names do not.
        const type = (error as { type?: string }).type ?? "unknown";
        const expected = type === "CredentialsSignin" || type === "AccessDenied";
        log(expected ? "info" : "error", expected ? "sign-in refused" : "auth.js error", { type });
      },
      warn(code) {
        log("warn", "auth.js", { code });
      },
      debug() {},
    },
    session: { strategy: "jwt", maxAge: Math.round(e.SESSION_MAX_AGE_HOURS * 3600) },
    pages: { signIn: "/sign-in", error: "/sign-in" },
    providers,
    callbacks: {
      async signIn({ user, account, profile }) {
        if (account?.provider !== "oidc") return true;
        if (!profile?.sub) return false;
        const db = await getDb();
        const dbUser = await provisionSsoUser(db, {
          issuer: e.OIDC_ISSUER!,
          subject: String(profile.sub),
          email: typeof profile.email === "string" ? profile.email : null,
          emailVerified: typeof profile.email_verified === "boolean" ? profile.email_verified : null,
          name: typeof profile.name === "string" ? profile.name : null,
          groups: groupsFromClaim(profile[e.OIDC_GROUPS_CLAIM]),
        });
        if (!dbUser) return false;
        // The session must name Portico's user, not the IdP's subject.
        user.id = dbUser.id;
        return true;
      },
      jwt({ token, user }) {
        if (user) {
          token.sub = user.id;
          token.mfa = Boolean(user.mfa);
          token.mfaAt = sessionMfaAt(user, Date.now());
        }
        return token;
      },
      session({ session, token }) {
        session.user.id = token.sub ?? "";
        session.mfa = Boolean(token.mfa);
        session.mfaAt = typeof token.mfaAt === "number" ? token.mfaAt : null;
        return session;
      },
    },
  };
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => config());
