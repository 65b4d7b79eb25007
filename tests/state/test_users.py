from pathlib import Path

from secengine.state.users import UserDb


def test_users_and_groups_from_a_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/false\n"
    )
    (tmp_path / "etc/group").write_text("root:x:0:\napp:x:1000:\n")
    db = UserDb(str(tmp_path))
    db.refresh()
    assert db.user(1000).name == "app" and db.user(1000).home == "/home/app"
    assert db.group(0) == "root"
    assert db.user(5) is None
