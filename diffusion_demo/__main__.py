"""`python -m diffusion_demo …`: the command line (see diffusion_demo/cli/)."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
