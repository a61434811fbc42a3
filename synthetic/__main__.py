"""`python -m synthetic --out DIR [--seed N] [--scale X]` (the same as `als-eca generate`)."""

from als_eca.cli import app

if __name__ == "__main__":
    app(["generate", *__import__("sys").argv[1:]])
