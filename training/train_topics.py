"""Fine-tune a topics model: `accelerate launch training/train_topics.py --config configs/topics/<name>.yaml`."""

import sys

from khabar.cli.train import script_main

if __name__ == "__main__":
    sys.exit(script_main("topics"))
