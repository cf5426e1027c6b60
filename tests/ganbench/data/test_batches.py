import itertools

import torch
from torch.utils.data import TensorDataset

from ganbench.data.batches import EpochSampler, real_batches


def test_order_is_fixed_by_the_seed_and_differs_between_seeds():
    first = list(itertools.islice(EpochSampler(10, seed=1), 30))
    assert first == list(itertools.islice(EpochSampler(10, seed=1), 30))
    assert first != list(itertools.islice(EpochSampler(10, seed=2), 30))
    assert sorted(first[:10]) == list(range(10)) and first[:10] != first[10:20]  # a new permutation per epoch


def test_starting_midway_continues_the_same_sequence():
    whole = list(itertools.islice(EpochSampler(10, seed=3), 40))
    assert list(itertools.islice(EpochSampler(10, seed=3, start=17), 23)) == whole[17:]


def test_resumed_batches_equal_the_uninterrupted_ones():
    dataset = TensorDataset(torch.arange(50).float(), torch.arange(50))
    uninterrupted = [batch[1] for batch in itertools.islice(real_batches(dataset, 8, seed=0), 9)]
    resumed = [batch[1] for batch in itertools.islice(real_batches(dataset, 8, seed=0, start_batch=4), 5)]
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted[4:], resumed, strict=True))
    assert all(len(batch) == 8 for batch in uninterrupted)  # the 2 left over images never make a short batch


def test_every_image_is_drawn_although_each_epoch_leaves_the_remainder_out():
    dataset = TensorDataset(torch.arange(10).float(), torch.arange(10))
    epochs = [batch[1] for batch in itertools.islice(real_batches(dataset, 4, seed=0), 2 * 20)]
    per_epoch = [torch.cat(epochs[i : i + 2]) for i in range(0, len(epochs), 2)]
    assert all(len(set(epoch.tolist())) == 8 for epoch in per_epoch)  # 2 whole batches of 4 per epoch
    assert set(torch.cat(per_epoch).tolist()) == set(range(10))
