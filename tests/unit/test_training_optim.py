"""AdamW groups: the head's own rate, layer-wise decay down the encoder, no weight decay on biases and norms."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForTokenClassification

from khabar.training.config import TrainingConfig
from khabar.training.optim import build_optimizer, freeze_word_embeddings, layer_depth


def _tiny_bert(layers: int = 3) -> BertForTokenClassification:
    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=32, num_labels=5)
    return BertForTokenClassification(config)


def _rate_and_decay(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, tuple[float, float]]:
    by_parameter = {
        id(parameter): (group["lr"], group["weight_decay"])
        for group in optimizer.param_groups for parameter in group["params"]
    }
    return {name: by_parameter[id(p)] for name, p in model.named_parameters() if id(p) in by_parameter}


def test_layer_depth_counts_down_from_the_top_layer() -> None:
    assert layer_depth("bert.encoder.layer.11.output.dense.weight", 12) == 0
    assert layer_depth("bert.encoder.layer.0.attention.self.query.weight", 12) == 11
    assert layer_depth("bert.embeddings.position_embeddings.weight", 12) == 12
    assert layer_depth("deberta.encoder.rel_embeddings.weight", 12) == 12
    assert layer_depth("model.layers.3.mlp.weight", 4) == 0
    assert layer_depth("encoder.final_norm.weight", 12) == 0


def test_layer_decay_scales_each_layer_and_the_head_keeps_its_rate() -> None:
    model = _tiny_bert(layers=3)
    config = TrainingConfig(learning_rate=1e-3, head_learning_rate=5e-3, layer_lr_decay=0.5, weight_decay=0.1)
    groups = _rate_and_decay(model, build_optimizer(model, config))
    assert groups["classifier.weight"] == (5e-3, 0.1)
    assert groups["classifier.bias"] == (5e-3, 0.0)
    assert groups["bert.encoder.layer.2.intermediate.dense.weight"] == pytest.approx((1e-3, 0.1))
    assert groups["bert.encoder.layer.1.intermediate.dense.weight"] == pytest.approx((5e-4, 0.1))
    assert groups["bert.encoder.layer.0.output.LayerNorm.weight"] == pytest.approx((2.5e-4, 0.0))
    assert groups["bert.embeddings.word_embeddings.weight"] == pytest.approx((1.25e-4, 0.1))


def test_without_decay_every_backbone_parameter_shares_one_rate_and_frozen_ones_are_left_out() -> None:
    model = _tiny_bert()
    freeze_word_embeddings(model)
    optimizer = build_optimizer(model, TrainingConfig(learning_rate=2e-4, head_learning_rate=1e-3))
    groups = _rate_and_decay(model, optimizer)
    assert "bert.embeddings.word_embeddings.weight" not in groups
    assert {lr for name, (lr, _) in groups.items() if not name.startswith("classifier.")} == {2e-4}
    assert len(optimizer.param_groups) == 4  # (backbone, head) x (decay, no decay)


def test_fused_adamw_makes_the_same_update_as_the_per_tensor_loop() -> None:
    torch.manual_seed(0)
    reference = _tiny_bert()
    fused_model = _tiny_bert()
    fused_model.load_state_dict(reference.state_dict())
    initial_head = reference.classifier.weight.detach().clone()
    config = TrainingConfig(learning_rate=1e-3, head_learning_rate=5e-3, layer_lr_decay=0.8, weight_decay=0.1)
    plain, fused = build_optimizer(reference, config), build_optimizer(fused_model, config, fused=True)
    assert fused.defaults["fused"] and not plain.defaults["fused"]
    inputs = torch.randint(0, 100, (2, 7))
    labels = torch.randint(0, 5, (2, 7))
    for model, optimizer in ((reference, plain), (fused_model, fused)):
        model.eval()  # no dropout: both models see the same forward pass
        for _ in range(3):
            model(input_ids=inputs, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    for (name, a), b in zip(reference.state_dict().items(), fused_model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.equal(initial_head, reference.classifier.weight), "the steps changed the weights"
