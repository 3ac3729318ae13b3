import sys

try:
    from songmap.app.cli import app

    app(prog_name="songmap")
except KeyboardInterrupt:  # Ctrl-C while starting up, before a command could handle it
    print("error: interrupted", file=sys.stderr)
    sys.exit(130)
