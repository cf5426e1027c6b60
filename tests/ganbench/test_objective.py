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


class _OutputPenalty(Regularizer):
    def __init__(self, value: float) -> None:
        self.value = value
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def output_penalty(self, real_logits, fake_logits):
        self.seen.append((real_logits, fake_logits))
        return real_logits.mean() * 0 + self.value

    def logged(self):
        return {f"value_{self.value}": self.value}


class _MeanGap:
    def discriminator_loss(self, real_logits, fake_logits):
        return fake_logits.mean() - real_logits.mean()


def test_output_penalties_see_the_logits_and_are_added_to_the_loss():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    first, second = _OutputPenalty(2.0), _OutputPenalty(0.5)
    loss = Objective(_MeanGap(), [first, _Shift(1), second]).discriminator_loss(real, fake)
    assert loss.item() == -3.0 + 2.5
    assert first.seen == second.seen == [(real, fake)]
    assert Objective(_MeanGap(), [_Shift(1)]).discriminator_loss(real, fake).item() == -3.0


def test_logged_merges_the_regularizers_scalars():
    assert Objective(None, [_OutputPenalty(2.0), _Shift(1), _OutputPenalty(0.5)]).logged() == {
        "value_2.0": 2.0,
        "value_0.5": 0.5,
    }
    assert Objective(None).logged() == {}


class _Counter(Regularizer):
    def __init__(self) -> None:
        self.count = 0

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


def test_the_regularizers_state_round_trips_in_order():
    first, second = _Counter(), _Counter()
    first.count, second.count = 3, 5
    states = Objective(None, [first, _Shift(1), second]).state_dict()
    assert states == [{"count": 3}, {}, {"count": 5}]
    restored = Objective(None, [_Counter(), _Shift(1), _Counter()])
    restored.load_state_dict(states)
    assert [r.count for r in restored.regularizers if isinstance(r, _Counter)] == [3, 5]
