from services.core.logs import format_event, printable


def test_events_are_one_line_with_secrets_masked():
    line = format_event(
        "login", {"user": "alice", "token": "s3cret", "password": "pw", "note": "a b\nc"}
    )
    assert "s3cret" not in line and "pw" not in line.replace("password", "")
    assert line.startswith("login user=alice token=***")
    assert "\n" not in line and 'note="a b\\nc"' in line


def test_a_name_cannot_forge_a_line_or_drive_the_terminal():
    """What a user names a job reaches logs and `pullprint jobs` (issue 19, finding 11)."""
    line = format_event(
        "job.stored",
        {"name": "x\r\nfake.event user=root", "owner": "\x1b[2Jeve", "title": "rtl\u202e"},
    )
    assert line.isprintable()
    assert 'name="x\\r\\nfake.event user=root"' in line
    assert 'owner="\\x1b[2Jeve"' in line and 'title="rtl\\u202e"' in line
    assert printable("plain, ünïcode") == "plain, ünïcode"
    assert printable("bell\a") == "bell\\x07"
