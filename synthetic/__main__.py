"""`python -m synthetic --out DIR [--seed N] [--scale X]`: the generator on its own (`als-eca generate` is the same
call through the command line, which sits above this package)."""

import argparse
from pathlib import Path

from synthetic.generator import generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write proact/ and pms/ into")
    parser.add_argument("--seed", type=int, default=20230401, help="random seed (same seed, byte-identical files)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies subject counts (1 = the paper's sizes)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error(f"--scale {args.scale}: must be positive")
    print(generate(args.out, seed=args.seed, scale=args.scale, progress=not args.no_progress))


if __name__ == "__main__":
    main()
