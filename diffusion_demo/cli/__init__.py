"""Every command-line entry point of the package, and only here.

`python -m diffusion_demo sample | evaluate | export | train | classifier` (`main`): argparse
sub-commands that parse flags into typed requests and hand them to the parts below;
`python -m diffusion_demo.toy2d` (`toy2d`, the shipped 2D weights); and the app's child
processes, `compile` (building the compiled UNet) and `worker` (serving it).

May import anything but ui. Nothing imports cli but `__main__.py` files.
"""
