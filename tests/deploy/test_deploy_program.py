"""deploy/deploy.py's own logic, without Docker: .env rules, settings, the per-release compose model."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PY = ROOT / "template" / "deploy" / "deploy.py"


@pytest.fixture(scope="module")
def deploy():
    spec = importlib.util.spec_from_file_location("rendered_deploy", DEPLOY_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settings(deploy, tmp_path: Path, **values):
    config = tmp_path / "deploy.json"
    config.write_text(json.dumps({"app_name": "shop", "app_port": 8000, "apps_dir": str(tmp_path), **values}))
    return deploy.Settings.load(config, None)


def test_required_names_come_from_empty_values_required_comments_and_compose(deploy, tmp_path):
    example = tmp_path / ".env.example"
    example.write_text(
        "# Port\nAPP_HOST_PORT=8000\n\n# Required. A long random value.\nPOSTGRES_PASSWORD=\n"
        "POSTGRES_USER=app\n\n# Required: the API key\nAPI_KEY=changeme\nEMPTY_ONE=\n"
    )
    compose = "environment:\n  TOKEN: ${TOKEN:?set TOKEN}\n  IMAGE: ${APP_IMAGE:?x}\n"
    required, optional = deploy.required_names(example, [compose])
    assert required == ["POSTGRES_PASSWORD", "API_KEY", "EMPTY_ONE", "TOKEN"]
    assert optional == ["POSTGRES_USER"]  # APP_HOST_PORT and APP_IMAGE are set by the deploy


def test_check_env_names_missing_and_empty_keys_but_never_values(deploy, tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    (source / ".env.example").write_text("# Required\nPOSTGRES_PASSWORD=\nAPI_KEY=\nDEBUG=0\n")
    (source / "compose.yaml").write_text("services: {}\n")
    s = settings(deploy, tmp_path)
    app = deploy.AppDir(s)
    app.root.mkdir()
    (app.root / ".env").write_text("API_KEY=\nSECRET_VALUE_NOT_TO_PRINT=hunter2\n")
    with pytest.raises(deploy.DeployError) as err:
        deploy.check_env(s, app, source)
    message = str(err.value)
    assert "missing: POSTGRES_PASSWORD" in message and "empty: API_KEY" in message
    assert "hunter2" not in message and "nothing was changed" in message
    assert not app.deploy.exists()  # refused before the lock or anything else


def test_settings_can_be_overridden_per_machine_and_bad_values_are_named(deploy, tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOY_DRAIN_SECONDS", "7")
    assert settings(deploy, tmp_path).drain_seconds == 7
    monkeypatch.setenv("DEPLOY_DRAIN_SECONDS", "soon")
    with pytest.raises(deploy.DeployError, match=r"'soon' is not a whole number \(DEPLOY_DRAIN_SECONDS\): set it"):
        settings(deploy, tmp_path)
    monkeypatch.delenv("DEPLOY_DRAIN_SECONDS")
    with pytest.raises(
        deploy.DeployError,
        match=r"unknown proxy 'traefik' \(proxy in .*deploy.json\): use host-nginx, compose-nginx or none",
    ):
        settings(deploy, tmp_path, proxy="traefik")


def test_nginx_commands_go_through_sudo_only_when_not_root(deploy, tmp_path, monkeypatch):
    s = settings(deploy, tmp_path)
    monkeypatch.setattr(deploy.os, "geteuid", lambda: 1000)
    assert s.command("nginx_test_command") == ["sudo", "-n", "nginx", "-t"]
    assert s.command("nginx_reload_command") == ["sudo", "-n", "nginx", "-s", "reload"]
    monkeypatch.setattr(deploy.os, "geteuid", lambda: 0)
    assert s.command("nginx_test_command") == ["nginx", "-t"]


RESOLVED = {
    "name": "shop",
    "services": {
        "web": {
            "build": {"context": "/src"},
            "image": "shop:${APP_VERSION:-local}",
            "environment": {"APP_VERSION": "${APP_VERSION:-local}", "PORT": "8000"},
            "ports": ["127.0.0.1:${APP_HOST_PORT:-8000}:8000"],
            "depends_on": {"db": {"condition": "service_healthy"}},
            "volumes": [{"type": "bind", "source": "/src/app.ini", "target": "/app.ini"}],
        },
        "db": {"image": "postgres:17", "volumes": [{"type": "volume", "source": "db-data", "target": "/d"}]},
        "proxy": {
            "image": "nginx:1",
            "depends_on": {"web": {"condition": "service_healthy"}},
            "volumes": [{"type": "bind", "source": "/src/deploy/nginx/shop.conf", "target": "/etc/x.conf"}],
        },
    },
    "volumes": {"db-data": {"name": "shop_db-data"}},
}


def test_runtime_model_renames_web_to_its_colour_and_keeps_shared_volumes(deploy, tmp_path):
    s = settings(deploy, tmp_path)
    app = deploy.AppDir(s)
    model = deploy.runtime_model(s, app, RESOLVED, "green", "shop:abc123", "abc123", 8001)
    services = model["services"]
    assert set(services) == {"web-green", "db", "proxy"}
    web = services["web-green"]
    assert "build" not in web and web["image"] == "shop:abc123"
    assert web["environment"]["APP_VERSION"] == "abc123"
    assert web["ports"] == ["127.0.0.1:8001:8000"]
    assert web["labels"]["studio.deploy.colour"] == "green"
    assert services["proxy"]["depends_on"] == {}
    assert model["volumes"] == {"db-data": {"name": "shop_db-data"}}  # the same volume for every colour
    assert RESOLVED["services"]["web"]["image"].startswith("shop:$")  # input left untouched


def test_compose_nginx_model_mounts_the_upstream_directory_into_the_proxy(deploy, tmp_path):
    s = settings(deploy, tmp_path, proxy="compose-nginx")
    app = deploy.AppDir(s)
    model = deploy.runtime_model(s, app, RESOLVED, "blue", "shop:1", "1", None)
    assert "ports" not in model["services"]["web-blue"]
    mounts = model["services"]["proxy"]["volumes"]
    assert {"type": "bind", "source": str(app.deploy), "target": str(app.deploy), "read_only": True} in mounts
    text = deploy.Deployer(s, tmp_path).upstream_text("blue", None)
    assert "set $shop_upstream web-blue:8000;" in text
    assert app.upstream_file.name == "proxy-upstream.conf"


def test_mounted_files_of_web_go_with_the_release_and_others_to_a_stable_place(deploy, tmp_path):
    source = tmp_path / "src"
    (source / "deploy" / "nginx").mkdir(parents=True)
    (source / "app.ini").write_text("a=1\n")
    (source / "deploy" / "nginx" / "shop.conf").write_text("server {}\n")
    model = json.loads(json.dumps(RESOLVED).replace("/src", str(source)))
    bundle, shared = tmp_path / "releases" / "r1", tmp_path / "shared"
    deploy.copy_mounted_files(model, source, bundle, shared, "web")
    assert model["services"]["web"]["volumes"][0]["source"] == str(bundle / "app.ini")
    proxy_conf = shared / "deploy" / "nginx" / "shop.conf"
    assert model["services"]["proxy"]["volumes"][0]["source"] == str(proxy_conf)
    inode = proxy_conf.stat().st_ino
    (source / "deploy" / "nginx" / "shop.conf").write_text("server { listen 80; }\n")
    deploy.copy_mounted_files(
        json.loads(json.dumps(RESOLVED).replace("/src", str(source))),
        source,
        tmp_path / "releases" / "r2",
        shared,
        "web",
    )
    assert proxy_conf.stat().st_ino == inode  # rewritten in place: a single-file mount sees it
    assert "listen 80" in proxy_conf.read_text()


def test_sanitize_tag_and_bad_refs(deploy):
    assert deploy.sanitize_tag("v1.2.3") == "v1.2.3"
    assert deploy.sanitize_tag("feature/x+y") == "feature-x-y"
    with pytest.raises(deploy.DeployError, match="no usable image tag"):
        deploy.sanitize_tag("///")


def test_the_program_runs_on_python_3_9_syntax_and_prints_help():
    # The production box may have an older Python than this repo's tools.
    for path in (DEPLOY_PY, DEPLOY_PY.with_name("tls.py")):
        ast.parse(path.read_text(), str(path), feature_version=(3, 9))
    out = subprocess.run([sys.executable, str(DEPLOY_PY), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "rollback" in out.stdout and "status" in out.stdout
