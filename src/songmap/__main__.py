from songmap.cli import app

app(prog_name="songmap")
