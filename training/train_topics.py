"""Fine-tune a topics model from a checkout: `accelerate launch training/train_topics.py --config topics/<name>`.

A thin wrapper: an installed wheel runs the same entry point as `accelerate launch -m khabar.cli train topics ...`.
"""

import sys

from khabar.cli.train import script_main

if __name__ == "__main__":
    sys.exit(script_main("topics"))
