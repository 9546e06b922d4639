from ccmatrix.cli import app

app(prog_name="ccmatrix")
