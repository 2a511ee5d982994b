# Sourced by requirements/lock and requirements/lowest: a venv of its own holding one
# pinned release of uv, the resolver that writes the lock, kept apart from the test venv.
UV_VERSION=0.13.9
TOOLS=.venv-tools
if [ "$("$TOOLS/bin/uv" --version 2>/dev/null)" != "uv $UV_VERSION" ]; then
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q "uv==$UV_VERSION"
fi
uv() { "$TOOLS/bin/uv" "$@"; }
