#!/usr/bin/env python3
"""HTTPS for this app on the production box's nginx: certificate from Let's Encrypt, renewal hook.

    sudo python3 deploy/tls.py issue      # once, as root: certificate + server block + renewal hook
    sudo python3 deploy/tls.py check      # what is installed, when the certificate expires

`issue` does, in order:
  1. makes sure the upstream include file exists (deploy.py rewrites it on every deploy);
  2. without a certificate yet: serves /.well-known/acme-challenge/ from the webroot with a
     temporary port-80 block, then runs `certbot certonly --webroot` with a --deploy-hook that tests
     and reloads nginx, so every renewal (certbot's own timer) is picked up with no restart;
  3. installs the rendered server block (deploy/nginx/<app>.conf), checks `nginx -t`, reloads.
A failing step puts the previous server block back. Standard library only; settings from
deploy/deploy.json (and DEPLOY_<KEY> variables), like deploy.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def _load_deploy_module():
    """deploy.py next to this file: one copy of the settings, app directory and error logic."""
    spec = importlib.util.spec_from_file_location(
        "deploy_program", Path(__file__).resolve().parent / "deploy.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_deploy = _load_deploy_module()
HERE = _deploy.HERE
AppDir = _deploy.AppDir
DeployError = _deploy.DeployError
Settings = _deploy.Settings
parse_env_file = _deploy.parse_env_file
write_atomic = _deploy.write_atomic


def log(message: str) -> None:
    print(f"[tls] {message}", flush=True)


def run(cmd: list[str], env: dict | None = None) -> None:
    proc = subprocess.run(cmd, text=True, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise DeployError(
            f"`{shlex.join(cmd)}` failed (exit {proc.returncode}):\n"
            f"{(proc.stdout + proc.stderr).strip()[-4000:]}"
        )


def nginx_check_and_reload(settings: Settings) -> None:
    run(shlex.split(settings.nginx_test_command))
    run(shlex.split(settings.nginx_reload_command))


def ensure_upstream(settings: Settings) -> None:
    app = AppDir(settings)
    if app.upstream_file.exists():
        return
    env = parse_env_file(app.env_file) if app.env_file.exists() else {}
    port = env.get("APP_HOST_PORT") or settings.app_port
    write_atomic(
        app.upstream_file,
        "# Placeholder until the first deploy: deploy.py rewrites this file.\n"
        f"server 127.0.0.1:{port};\n",
    )
    log(f"wrote a placeholder {app.upstream_file}")


def bootstrap_block(domain: str, listen: str, webroot: Path) -> str:
    return (
        f"# Temporary: answers Let's Encrypt while the certificate of {domain} is issued.\n"
        "server {\n"
        f"    listen {listen};\n"
        f"    server_name {domain};\n"
        "    location ^~ /.well-known/acme-challenge/ {\n"
        f"        root {webroot};\n"
        "        default_type text/plain;\n"
        "    }\n"
        "    location / {\n"
        "        return 404;\n"
        "    }\n"
        "}\n"
    )


def certbot_config_dir(certbot_args: list[str]) -> Path:
    for i, arg in enumerate(certbot_args):
        if arg == "--config-dir" and i + 1 < len(certbot_args):
            return Path(certbot_args[i + 1])
        if arg.startswith("--config-dir="):
            return Path(arg.split("=", 1)[1])
    return Path("/etc/letsencrypt")


def cmd_issue(args, settings: Settings) -> int:
    domain = settings.domain
    email = args.email or settings.values.get("letsencrypt_email", "")
    if not domain:
        raise DeployError("domain is empty in deploy/deploy.json; re-render the repo with a domain")
    if not email:
        raise DeployError(
            "no e-mail for Let's Encrypt: pass --email or set letsencrypt_email in deploy.json"
        )
    site_source = Path(args.site_source or HERE / "nginx" / f"{settings.app_name}.conf")
    site_file = Path(args.site_file or f"/etc/nginx/conf.d/{settings.app_name}.conf")
    webroot = Path(args.webroot)
    certbot_args = shlex.split(args.certbot_args or "")
    if not site_source.exists():
        raise DeployError(f"server block {site_source} does not exist (--site-source)")
    if os.geteuid() != 0:
        raise DeployError("tls.py issue changes nginx and certbot settings: run it as root (sudo)")

    ensure_upstream(settings)
    webroot.mkdir(parents=True, exist_ok=True)
    previous = site_file.read_text() if site_file.exists() else None
    live = certbot_config_dir(certbot_args) / "live" / domain / "fullchain.pem"
    hook = f"{settings.nginx_test_command} && {settings.nginx_reload_command}"
    try:
        if live.exists() and not args.force:
            log(f"certificate for {domain} already present ({live}); certbot's timer renews it")
        else:
            write_atomic(site_file, bootstrap_block(domain, args.http_listen, webroot))
            nginx_check_and_reload(settings)
            log(f"requesting a certificate for {domain} through {webroot}")
            cmd = [
                "certbot",
                "certonly",
                "--webroot",
                "-w",
                str(webroot),
                "-d",
                domain,
                "--email",
                email,
                "--agree-tos",
                "--no-eff-email",
                "--non-interactive",
                "--keep-until-expiring",
                "--deploy-hook",
                hook,
                *certbot_args,
            ]
            if args.staging:
                cmd.append("--staging")
            run(cmd)
            log(f"certificate issued; renewals run `{hook}`")
        shutil.copyfile(site_source, site_file)
        nginx_check_and_reload(settings)
    except DeployError:
        if previous is None:
            site_file.unlink(missing_ok=True)
        else:
            write_atomic(site_file, previous)
        try:
            nginx_check_and_reload(settings)
        except DeployError as exc:
            log(f"could not reload nginx with the previous block: {exc}")
        raise
    log(f"https://{domain} is served by {site_file}")
    return 0


def cmd_check(args, settings: Settings) -> int:
    certbot_args = shlex.split(args.certbot_args or "")
    live = certbot_config_dir(certbot_args) / "live" / settings.domain / "fullchain.pem"
    if not live.exists():
        print(
            f"no certificate for {settings.domain} yet ({live}); "
            "run: sudo python3 deploy/tls.py issue"
        )
        return 1
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-issuer", "-in", str(live)],
        text=True,
        capture_output=True,
        check=False,
    )
    print(out.stdout.strip())
    return 0 if out.returncode == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tls.py", description="Let's Encrypt for this app's nginx block."
    )
    parser.add_argument("--config", default=str(HERE / "deploy.json"))
    parser.add_argument("--app-dir", help="the app directory (default: apps_dir/app_name)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("issue", help="obtain the certificate and install the server block")
    p.add_argument("--email", help="Let's Encrypt account e-mail (default: letsencrypt_email)")
    p.add_argument(
        "--site-source", help="server block to install (default: deploy/nginx/<app>.conf)"
    )
    p.add_argument(
        "--site-file", help="where nginx reads it (default: /etc/nginx/conf.d/<app>.conf)"
    )
    p.add_argument(
        "--webroot", default="/var/www/letsencrypt", help="ACME webroot the block serves"
    )
    p.add_argument(
        "--http-listen", default="80", help="listen address of the temporary port-80 block"
    )
    p.add_argument(
        "--staging", action="store_true", help="use Let's Encrypt's staging CA (a trial run)"
    )
    p.add_argument("--force", action="store_true", help="request a certificate even if one exists")
    p.add_argument(
        "--certbot-args", default="", help="extra certbot arguments, e.g. --config-dir DIR"
    )
    p.set_defaults(func=cmd_issue)
    p = sub.add_parser("check", help="show the installed certificate's expiry and issuer")
    p.add_argument(
        "--certbot-args", default="", help="extra certbot arguments, e.g. --config-dir DIR"
    )
    p.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(Path(args.config), args.app_dir)
        return args.func(args, settings)
    except DeployError as exc:
        print(f"tls.py: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
