// The login form, shown whenever there is no valid token (at start, or when the API refuses the token and its
// refresh), and the "signed in as NAME (role) · Sign out" element of the top bar.
import { api, reason, SignedOut } from "./api";
import { $ } from "./dom";
import { t, term } from "./i18n";
import {
  accessToken, currentUser, keepTokens, logOut, type Me, onSignedOut, setUser, type TokenPair,
} from "./session";

let waiting: ((me: Me) => void)[] = [];

function showForm(note: string): void {
  $("#login-note").textContent = note;
  $<HTMLElement>("#login").hidden = false;
  document.body.dataset.auth = "signed-out";
  $<HTMLInputElement>("#login-username").focus();
}

function showUser(me: Me): void {
  $("#user-name").textContent = me.username;
  $("#user-role").textContent = term("role", me.role);
  const element = $<HTMLElement>("#user");
  element.dataset.role = me.role;
  element.title = `sites: ${me.sites.join(", ")}`;
  element.hidden = false;
}

function signedIn(me: Me): void {
  setUser(me);
  showUser(me);
  $<HTMLElement>("#login").hidden = true;
  document.body.dataset.auth = "signed-in";
  const resolve = waiting;
  waiting = [];
  for (const r of resolve) r(me);
}

async function submit(form: HTMLFormElement): Promise<void> {
  const error = $<HTMLElement>("#login-error");
  const button = form.querySelector<HTMLButtonElement>("button[type=submit]");
  const data = new FormData(form);
  error.hidden = true;
  if (button) button.disabled = true;
  try {
    const body = new URLSearchParams({ username: String(data.get("username") ?? ""),
      password: String(data.get("password") ?? "") });
    keepTokens(await api<TokenPair>("/auth/token", { method: "POST", body }, true));
    const me = await api<Me>("/auth/me");
    const before = currentUser();
    if (before !== null && before.username !== me.username) {
      location.reload(); // another user: the console starts again, with that user's role
      return;
    }
    $<HTMLInputElement>("#login-password").value = "";
    signedIn(me);
  } catch (err) {
    error.textContent = reason(err);
    error.hidden = false;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Wires the form and the Sign out button; from then on a session that ends brings the form back. */
export function setUpLogin(): void {
  const form = $<HTMLFormElement>("#login-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit(form);
  });
  $("#sign-out").addEventListener("click", () => {
    void logOut().then(() => location.reload());
  });
  onSignedOut((why) => showForm(t("login.session_ended", { why })));
}

/** The signed-in user: the one of the token kept, or whoever signs in with the form. */
export async function signIn(): Promise<Me> {
  if (accessToken() !== null) {
    try {
      const me = await api<Me>("/auth/me");
      signedIn(me);
      return me;
    } catch (err) {
      if (!(err instanceof SignedOut)) throw err;
    }
  }
  const signed = new Promise<Me>((resolve) => waiting.push(resolve));
  showForm(t("login.sign_in_note"));
  return signed;
}
