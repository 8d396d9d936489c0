from conftest import git, run_fleet


def test_clean_update(apps, capsys):
    app = apps.make("alpha")
    code, report, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v2.0.0", "--push", "--json")
    print(out)
    assert code == 0
    (repo,) = report["repos"]
    assert repo["classification"] == "updated"
