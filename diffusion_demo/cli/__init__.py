"""`python -m diffusion_demo sample | evaluate | export | train | classifier`: argparse
sub-commands that parse flags into typed requests and hand them to the parts below.

May import anything but ui. Nothing imports cli.
"""
