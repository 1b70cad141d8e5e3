"""The wire format shared by the pullprint client and the reference server.

Everything that crosses the network between a client machine and the server is defined here
once: job states (`states`), the gateway framing (`gateway`: TLS TCP, port 7300), the channel
messages (`channel`: WebSocket JSON) and the REST payloads (`rest`). Both sides import this
package; it depends on the standard library, msgpack and pydantic only, so the server can use it
without pulling in any client service, and the tray can name job states without the store.
docs/protocol.md describes the same thing in prose.
"""

PROTOCOL_VERSION = 1

# Jobs are named on the wire by the uuid the client gave them, never by a client's local row
# id. The uuid becomes a file name on the server, so it is restricted to characters that are
# safe in a path component.
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
