"""Fine-tune an NER model: `accelerate launch training/train_ner.py --config configs/ner/<name>.yaml`."""

import sys

from khabar.cli.train import script_main

if __name__ == "__main__":
    sys.exit(script_main("ner"))
