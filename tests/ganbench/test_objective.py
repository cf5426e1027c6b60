import torch

from ganbench.objective import Objective, Regularizer


class _Shift(Regularizer):
    def __init__(self, by: float) -> None:
        self.by = by

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return images + self.by


class _Scale(Regularizer):
    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return images * 10


class _Penalty(Regularizer):
    def __init__(self, value: float) -> None:
        self.value = value

    def penalty(self, critic, real, fake):
        return critic(real).mean() * 0 + self.value


def test_augmentations_apply_in_the_order_given():
    images = torch.ones(2)
    assert torch.equal(Objective(None, [_Shift(1), _Scale()]).augment(images), torch.full((2,), 20.0))
    assert torch.equal(Objective(None, [_Scale(), _Shift(1)]).augment(images), torch.full((2,), 11.0))


def test_penalties_are_summed_and_absent_without_a_penalty():
    critic = torch.nn.Linear(3, 1)
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    assert Objective(None, [_Penalty(2.0), _Shift(1), _Penalty(0.5)]).penalty(critic, real, fake).item() == 2.5
    assert Objective(None, [_Shift(1)]).penalty(critic, real, fake) is None
    assert Objective(None).penalty(critic, real, fake) is None


class _GeneratorPenalty(Regularizer):
    def __init__(self, value: float) -> None:
        self.value = value
        self.draws = 0

    def generator_penalty(self, z, fake, draw):
        self.draws += 1
        _, other = draw()
        return (fake - other).abs().mean() * 0 + self.value


def test_generator_penalties_are_summed_and_absent_without_one():
    z, fake = torch.randn(4, 2), torch.randn(4, 3)

    def draw():
        return torch.randn(4, 2), torch.randn(4, 3)

    first, second = _GeneratorPenalty(2.0), _GeneratorPenalty(0.5)
    assert Objective(None, [first, _Shift(1), second]).generator_penalty(z, fake, draw).item() == 2.5
    assert (first.draws, second.draws) == (1, 1)
    assert Objective(None, [_Penalty(1.0)]).generator_penalty(z, fake, draw) is None
    assert Objective(None).generator_penalty(z, fake, draw) is None
