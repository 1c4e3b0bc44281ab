"""Train the shipped 2D MLPs: python -m diffusion_demo.toy2d [--out assets/toy2d] [moons …] (cli/toy2d.py)."""

from ..cli.toy2d import main

if __name__ == "__main__":
    main()
