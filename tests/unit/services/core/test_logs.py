from services.core.logs import format_event


def test_events_are_one_line_with_secrets_masked():
    line = format_event(
        "login", {"user": "alice", "token": "s3cret", "password": "pw", "note": "a b\nc"}
    )
    assert "s3cret" not in line and "pw" not in line.replace("password", "")
    assert line.startswith("login user=alice token=***")
    assert "\n" not in line and 'note="a b\\nc"' in line
