"""The wire format shared by the pullprint client and the reference server.

Everything that crosses the network between a client machine and the server is defined here
once: job states (`states`), the gateway framing (`gateway`: TLS TCP, port 7300), the channel
messages (`channel`: WebSocket JSON) and the REST payloads (`rest`). Both sides import this
package; it depends on the standard library, msgpack and pydantic only, so the server can use it
without pulling in any client service, and the tray can name job states without the store.
docs/protocol.md describes the same thing in prose.
"""

# 2: a gateway upload's `deliver_to` names a server printer by id; version 1's named any
# address, which made the server a relay (issue 19, finding 2). The gateway still takes a
# version 1 header without `deliver_to`, so older clients keep uploading jobs to be held.
# 3: a gateway upload may carry the job's `options` (issue 21); a client sends 3 only when it
# does, so a job without options still reaches a server of version 2.
PROTOCOL_VERSION = 3

# Jobs are named on the wire by the uuid the client gave them, never by a client's local row
# id. The uuid becomes a file name on the server, so it is restricted to characters that are
# safe in a path component.
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
