"""The checks `devops-studio lint` runs. Each docstring is what the user reads in the docs."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import tomllib
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from devops_studio.lint.base import Check, Finding, LintContext, ToolMissing, find_tool
from devops_studio.lint.nginx_sandbox import NginxSandbox
from devops_studio.lint.runner_reach import PullRequestRunners

WORKFLOWS = (".github/workflows/*.yml", ".github/workflows/*.yaml")
YAML_FILES = ("**/*.yml", "**/*.yaml")


class Unrendered(Check):
    """No template syntax left: no `[[ ]]`, `[% %]` or `[# #]` in any file or file name."""

    name = "unrendered"
    PATTERN = re.compile(r"\[\[\s*[\w.]+[^\]]*\]\]|\[%|%\]|\[#[^\]]")
    # A file still carrying the template suffix was copied, not rendered. Only names are checked
    # for it: a line that mentions a .jinja file is not a leftover.
    NAME_PATTERN = re.compile(PATTERN.pattern + r"|\.jinja$")
    # TOML's array-of-tables headers (`[[package]]` in uv.lock) look like a variable without spaces.
    TOML_TABLE = re.compile(r"\[\[[A-Za-z0-9_.-]+\]\]")
    TOML_FILES = (".toml", ".lock")

    def run(self, ctx: LintContext) -> list[Finding]:
        findings = []
        for path in ctx.files("**/*", ".*", ".*/**/*"):
            if self.NAME_PATTERN.search(ctx.rel(path)):
                findings.append(self.finding(path, None, "template syntax in the file name", ctx))
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            toml = path.suffix in self.TOML_FILES
            for number, line in enumerate(text.splitlines(), 1):
                if toml and self.TOML_TABLE.fullmatch(line.strip()):
                    continue
                if self.PATTERN.search(line):
                    findings.append(self.finding(path, number, f"template syntax left: {line.strip()}", ctx))
        return findings


class Parses(Check):
    """Every JSON, YAML and TOML file parses (YAML 1.2, every document, duplicate keys refused), so an
    answer that slipped through a validator cannot leave a broken file behind unnoticed."""

    name = "parses"
    PATTERNS = ("**/*.json", "**/*.toml", *YAML_FILES, ".*.yml", ".*.yaml", ".*/**/*.json", ".*/**/*.yml")

    def run(self, ctx: LintContext) -> list[Finding]:
        findings = []
        for path in ctx.files(*self.PATTERNS):
            try:
                text = path.read_text()
                if path.suffix == ".json":
                    json.loads(text)
                elif path.suffix == ".toml":
                    tomllib.loads(text)
                else:
                    list(YAML(typ="safe").load_all(text))
            except (ValueError, YAMLError) as error:  # JSONDecodeError, TOMLDecodeError, bad UTF-8
                line = getattr(error, "lineno", None) or getattr(getattr(error, "problem_mark", None), "line", None)
                findings.append(self.finding(path, line, f"does not parse: {str(error).splitlines()[0]}", ctx))
        return findings


class Actionlint(Check):
    """actionlint: workflow syntax, expressions, runner labels and the shell in `run:` steps."""

    name = "actionlint"

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files(*WORKFLOWS))

    def run(self, ctx: LintContext) -> list[Finding]:
        workflows = [ctx.rel(p) for p in ctx.files(*WORKFLOWS)]
        argv = [find_tool("actionlint"), "-format", "{{json .}}", "-no-color"]
        for config in (".github/actionlint.yaml", ".github/actionlint.yml"):
            if (ctx.root / config).is_file():
                # Found by actionlint itself only inside a git work tree; a fresh render is not one yet.
                argv += ["-config-file", config]
                break
        proc = ctx.run([*argv, *workflows])
        if proc.returncode not in (0, 1):
            return [self.failed_run(proc, ctx)]
        errors = json.loads(proc.stdout or "[]")
        return [self.finding(e["filepath"], e["line"], f"{e['message']} [{e['kind']}]", ctx) for e in errors]


class Zizmor(Check):
    """zizmor, offline, pedantic persona: injection, permissions, pinning, credentials and other
    security smells in workflows and dependabot.yml."""

    name = "zizmor"

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files(*WORKFLOWS))

    def run(self, ctx: LintContext) -> list[Finding]:
        proc = ctx.run(
            [find_tool("zizmor"), "--offline", "--persona=pedantic", "--format=json", "--no-progress", "."],
            drop_env=("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"),
        )
        try:
            results = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return [self.failed_run(proc, ctx)]
        findings = []
        for result in results:
            location = result["locations"][0]
            symbolic = location["symbolic"]
            local = symbolic["key"].get("Local", {})
            path = (local.get("given_path") or local.get("verbatim_path") or "").removeprefix("./")
            line = location["concrete"]["location"]["start_point"]["row"] + 1
            findings.append(self.finding(path, line, f"{result['ident']}: {result['desc']}", ctx))
        return findings


class Yamllint(Check):
    """yamllint with the repo's own .yamllint.yaml: every YAML file is well formed and tidy."""

    name = "yamllint"

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files(*YAML_FILES, ".*.yml", ".*.yaml"))

    def run(self, ctx: LintContext) -> list[Finding]:
        files = [ctx.rel(p) for p in ctx.files(*YAML_FILES, ".*.yml", ".*.yaml", ".github/*.yml")]
        argv = [find_tool("yamllint"), "--strict", "--format", "parsable"]
        if (ctx.root / ".yamllint.yaml").is_file():
            argv += ["--config-file", ".yamllint.yaml"]
        proc = ctx.run(argv + files)
        findings = []
        for line in proc.stdout.splitlines():
            match = re.match(r"(.+?):(\d+):\d+: (.*)", line)
            if match:
                findings.append(self.finding(match[1], int(match[2]), match[3], ctx))
        if proc.returncode and not findings:
            findings.append(self.failed_run(proc, ctx))
        return findings


class JsonSchema(Check):
    """check-jsonschema against GitHub's workflow and Dependabot schemas and the Compose spec."""

    name = "check-jsonschema"
    SCHEMAS = {
        "vendor.github-workflows": WORKFLOWS,
        "vendor.dependabot": (".github/dependabot.yml",),
        "vendor.compose-spec": ("compose*.yaml",),
    }

    def run(self, ctx: LintContext) -> list[Finding]:
        findings = []
        for schema, patterns in self.SCHEMAS.items():
            files = ctx.files(*patterns)
            if not files:
                continue
            proc = ctx.run(
                [find_tool("check-jsonschema"), "--builtin-schema", schema, "--output-format", "json"]
                + [ctx.rel(f) for f in files]
            )
            try:
                report = json.loads(proc.stdout)
            except json.JSONDecodeError:
                findings.append(self.failed_run(proc, ctx))
                continue
            for error in report.get("errors", []) + report.get("parse_errors", []):
                where = error.get("path", "")
                findings.append(self.finding(error.get("filename", ""), None, f"{where} {error.get('message')}", ctx))
        return findings


class Shellcheck(Check):
    """shellcheck on every shell script (*.sh and files with a shell shebang)."""

    name = "shellcheck"

    def scripts(self, ctx: LintContext) -> list[Path]:
        scripts = set(ctx.files("**/*.sh", ".*/**/*.sh"))
        for path in ctx.files("**/*", ".*/**/*"):
            if path.suffix == "" and path.is_file():
                try:
                    head = path.open("rb").readline()
                except OSError:
                    continue
                if re.match(rb"#!.*\b(ba|da|k)?sh\b", head):
                    scripts.add(path)
        return sorted(scripts)

    def applies(self, ctx: LintContext) -> bool:
        return bool(self.scripts(ctx))

    def run(self, ctx: LintContext) -> list[Finding]:
        files = [ctx.rel(p) for p in self.scripts(ctx)]
        proc = ctx.run([find_tool("shellcheck"), "--format=json"] + files)
        try:
            issues = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            return [self.failed_run(proc, ctx)]
        return [self.finding(i["file"], i["line"], f"SC{i['code']}: {i['message']}", ctx) for i in issues]


class Hadolint(Check):
    """hadolint on every Dockerfile: pinned base images, non-root user, tidy layers."""

    name = "hadolint"

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files("**/Dockerfile", "**/*.Dockerfile"))

    def run(self, ctx: LintContext) -> list[Finding]:
        findings = []
        for dockerfile in ctx.files("**/Dockerfile", "**/*.Dockerfile"):
            proc = ctx.run([find_tool("hadolint"), "--format", "json", "--no-color", ctx.rel(dockerfile)])
            try:
                issues = json.loads(proc.stdout or "[]")
            except json.JSONDecodeError:
                findings.append(self.failed_run(proc, ctx, ctx.rel(dockerfile)))
                continue
            findings += [self.finding(i["file"], i["line"], f"{i['code']}: {i['message']}", ctx) for i in issues]
        return findings


class _ServerBlockCheck(Check):
    """Base of the checks that load each rendered server block in an NginxSandbox."""

    SERVER_BLOCKS = "deploy/nginx/*.conf"

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files(self.SERVER_BLOCKS))

    def run(self, ctx: LintContext) -> list[Finding]:
        findings = []
        for conf in ctx.files(self.SERVER_BLOCKS):
            with tempfile.TemporaryDirectory(prefix="studio-nginx-") as tmp:
                findings += self.check_block(ctx, conf, NginxSandbox(Path(tmp), conf))
        return findings

    def check_block(self, ctx: LintContext, conf: Path, sandbox: NginxSandbox) -> list[Finding]:
        raise NotImplementedError


class NginxTest(_ServerBlockCheck):
    """`nginx -t` on each rendered server block, inside a throwaway nginx.conf with stand-in
    certificates and upstream file, exactly as the production box's nginx would load it."""

    name = "nginx -t"

    def check_block(self, ctx: LintContext, conf: Path, sandbox: NginxSandbox) -> list[Finding]:
        proc = ctx.run([find_tool("nginx"), *sandbox.test_args()])
        return [] if proc.returncode == 0 else [self.finding(conf, None, sandbox.explain(proc.stderr), ctx)]


class Gixy(_ServerBlockCheck):
    """gixy-ng: nginx misconfigurations (header redefinition, SSRF, host spoofing, version
    disclosure, weak TLS and the like) in each rendered server block."""

    name = "gixy"

    def check_block(self, ctx: LintContext, conf: Path, sandbox: NginxSandbox) -> list[Finding]:
        proc = ctx.run([find_tool("gixy"), "--format", "json", str(sandbox.nginx_conf)])
        try:
            issues = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            return [self.failed_run(proc, ctx, ctx.rel(conf))]
        return [
            self.finding(conf, None, f"{i.get('plugin')}: {i.get('summary')} {i.get('reason', '')}", ctx)
            for i in issues
        ]


class ComposeConfig(Check):
    """`docker compose config` for every compose variant the repo offers (web; web+db; web+proxy;
    all), with the settings of .env.example and stand-in values for the required blanks."""

    name = "docker compose config"

    def variants(self, ctx: LintContext) -> list[list[str]]:
        if not (ctx.root / "compose.yaml").is_file():
            return []
        extras = [name for name in ("compose.db.yaml", "compose.proxy.yaml") if (ctx.root / name).is_file()]
        variants = [["compose.yaml"]] + [["compose.yaml", extra] for extra in extras]
        if len(extras) > 1:
            variants.append(["compose.yaml", *extras])
        return variants

    def applies(self, ctx: LintContext) -> bool:
        return bool(self.variants(ctx))

    def run(self, ctx: LintContext) -> list[Finding]:
        compose = compose_command()
        findings = []
        with tempfile.TemporaryDirectory(prefix="studio-compose-") as tmp:
            env_file = Path(tmp) / "lint.env"
            env_file.write_text(stand_in_env(ctx.root / ".env.example"))
            for files in self.variants(ctx):
                argv = [*compose, "--project-directory", ".", "--env-file", str(env_file)]
                for name in files:
                    argv += ["-f", name]
                proc = ctx.run([*argv, "config", "--quiet"])
                if proc.returncode != 0:
                    findings.append(self.finding(" + ".join(files), None, proc.stderr or proc.stdout, ctx))
        return findings


class Ruff(Check):
    """ruff check and ruff format --check on the Python files, with the repo's own settings."""

    name = "ruff"

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files("**/*.py", ".github/**/*.py"))

    def run(self, ctx: LintContext) -> list[Finding]:
        ruff = find_tool("ruff")
        proc = ctx.run([ruff, "check", "--output-format=json", "."])
        try:
            issues = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            return [self.failed_run(proc, ctx)]
        findings = [
            self.finding(i["filename"], i["location"]["row"], f"{i['code']}: {i['message']}", ctx) for i in issues
        ]
        fmt = ctx.run([ruff, "format", "--check", "."])
        for line in fmt.stdout.splitlines():
            if line.startswith("Would reformat:"):
                findings.append(self.finding(line.split(":", 1)[1].strip(), None, "not ruff-formatted", ctx))
        return findings


class UvLock(Check):
    """`uv lock --check`, offline: uv.lock still matches pyproject.toml, so CI's `uv sync --locked`
    and the Dockerfile's `uv sync --frozen` install what the project declares."""

    name = "uv lock"

    def applies(self, ctx: LintContext) -> bool:
        return (ctx.root / "pyproject.toml").is_file() and (ctx.root / "uv.lock").is_file()

    def run(self, ctx: LintContext) -> list[Finding]:
        proc = ctx.run([find_tool("uv"), "lock", "--check", "--offline", "--quiet"], env=_UV_ENV)
        return [] if proc.returncode == 0 else [self.finding("uv.lock", None, proc.stderr or proc.stdout, ctx)]


class Mypy(Check):
    """mypy with the repo's own settings (`[tool.mypy]` in pyproject.toml), in a throwaway environment
    installed from uv.lock with every extra and group, so the app's dependencies are type checked too."""

    name = "mypy"

    def applies(self, ctx: LintContext) -> bool:
        pyproject = ctx.root / "pyproject.toml"
        if not pyproject.is_file() or not (ctx.root / "uv.lock").is_file():
            return False
        try:
            return "mypy" in tomllib.loads(pyproject.read_text()).get("tool", {})
        except (ValueError, UnicodeDecodeError):
            return False  # the parses check reports it

    def run(self, ctx: LintContext) -> list[Finding]:
        uv = find_tool("uv")
        with tempfile.TemporaryDirectory(prefix="studio-mypy-") as tmp:
            env = {**_UV_ENV, "UV_PROJECT_ENVIRONMENT": str(Path(tmp) / "venv")}
            sync = ctx.run([uv, "sync", "--frozen", "--all-extras", "--all-groups", "--quiet"], env=env)
            if sync.returncode != 0:
                return [self.failed_run(sync, ctx, "uv.lock")]
            proc = ctx.run([uv, "run", "--no-sync", "mypy", "--no-incremental", "--no-error-summary"], env=env)
        findings = []
        for line in proc.stdout.splitlines():
            match = re.match(r"(.+?):(\d+): error: (.*)", line)
            if match:
                findings.append(self.finding(match[1], int(match[2]), match[3], ctx))
        if proc.returncode and not findings:
            findings.append(self.failed_run(proc, ctx))
        return findings


# uv's own Python (the one running this lint) builds the environments: no interpreter downloads.
_UV_ENV = {"UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def compose_command() -> list[str]:
    """Compose v2: the docker-compose binary of the [lint] extra, or the docker CLI plugin."""
    try:
        return [find_tool("docker-compose")]
    except ToolMissing:
        return [find_tool("docker"), "compose"]


def stand_in_env(example: Path) -> str:
    """.env.example with every empty value filled, so `${VAR:?}` checks pass in a config check."""
    lines = []
    if example.is_file():
        for line in example.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#") and not value:
                line = f"{key}=lint-stand-in-value"
            lines.append(line)
    return "\n".join(lines) + "\n"


ALL_CHECKS: list[type[Check]] = [
    Unrendered,
    Parses,
    PullRequestRunners,
    Actionlint,
    Zizmor,
    Yamllint,
    JsonSchema,
    Shellcheck,
    Hadolint,
    NginxTest,
    Gixy,
    ComposeConfig,
    Ruff,
    UvLock,
    Mypy,
]
