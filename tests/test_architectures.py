"""The encoder contract, checked for every registered architecture (plugins get it for free)."""

from __future__ import annotations

import pytest
import torch

import bench

ARCHITECTURES = bench.list_architectures()
INPUT, HIDDEN = 5, 8


def build(name: str, **options) -> torch.nn.Module:
    torch.manual_seed(0)
    return bench.get_architecture(name).build(INPUT, HIDDEN, **options).eval()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_output_shape(name):
    encoder = build(name)
    final = encoder(torch.randn(3, 7, INPUT), torch.tensor([7, 2, 5]))
    assert final.shape == (3, encoder.output_size)
    assert final.dtype == torch.float32


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_padding_never_changes_the_final_state(name):
    encoder = build(name)
    short = torch.randn(1, 4, INPUT)
    alone = encoder(short, torch.tensor([4]))
    # inside a batch with longer neighbours, its padding filled with large garbage
    batch = torch.randn(3, 11, INPUT)
    batch[1, :4] = short[0]
    batch[1, 4:] = 1e3 * torch.randn(7, INPUT)
    together = encoder(batch, torch.tensor([11, 4, 9]))
    torch.testing.assert_close(together[1:2], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_unrolled_matches_fused(name):
    encoder = build(name)
    if not hasattr(encoder, "unrolled"):
        pytest.skip(f"{name} has no unrolled(); probes use input gradients")
    x, lengths = torch.randn(4, 9, INPUT), torch.tensor([9, 3, 6, 1])
    final, states = encoder.unrolled(x, lengths)
    torch.testing.assert_close(final, encoder(x, lengths), atol=1e-5, rtol=0)
    assert len(states) == 9
    assert states[0].shape == (4, encoder.output_size)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_unrolled_states_lie_on_the_recurrent_path(name):
    encoder = build(name)
    if not hasattr(encoder, "unrolled"):
        pytest.skip(f"{name} has no unrolled()")
    final, states = encoder.unrolled(torch.randn(2, 6, INPUT), torch.tensor([6, 6]))
    (grad,) = torch.autograd.grad(final.sum(), [states[0]])
    # the first state reaches the final one only through the recurrence
    assert grad.abs().sum() > 0


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_gradient_reaches_the_first_input(name):
    encoder = build(name)
    x = torch.randn(3, 12, INPUT, requires_grad=True)
    encoder(x, torch.tensor([12, 5, 8])).sum().backward()
    assert (x.grad[:, 0].abs().sum(-1) > 0).all()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_stacked_layers_keep_the_contract(name):
    arch = bench.get_architecture(name)
    if "num_layers" not in arch.defaults:
        pytest.skip(f"{name} has no num_layers option")
    encoder = build(name, num_layers=2)
    x = torch.randn(2, 7, INPUT)
    x[1, 3:] = 100.0
    lengths = torch.tensor([7, 3])
    alone = encoder(x[1:2, :3], lengths[1:2])
    torch.testing.assert_close(encoder(x, lengths)[1:2], alone, atol=1e-5, rtol=0)


def test_bilstm_backward_direction_sees_the_whole_sequence():
    encoder = build("bilstm")
    x = torch.randn(1, 6, INPUT, requires_grad=True)
    final = encoder(x, torch.tensor([6]))
    (grad,) = torch.autograd.grad(final[0, HIDDEN:].sum(), [x])
    # the backward half ends at token 0 after reading all of them: every token matters
    assert (grad[0].abs().sum(-1) > 0).all()


def test_forget_bias_sets_the_forget_gate():
    encoder = build("lstm", forget_bias=1.0)
    module = encoder.layers[0][0]
    total = module.bias_ih_l0 + module.bias_hh_l0
    assert torch.allclose(total[HIDDEN : 2 * HIDDEN], torch.ones(HIDDEN))


def test_unknown_option_is_named_with_a_suggestion():
    with pytest.raises(bench.ConfigError, match="num_layer.*Did you mean 'num_layers'"):
        bench.get_architecture("gru").build(INPUT, HIDDEN, num_layer=2)
