"""CUT and FastCUT (Park et al. 2020): one-sided unpaired translation content (X) -> style (Y)
by contrastive learning of patches, with no inverse generator and no cycle.

One generator G (its encoder G_enc is G's first layers), one PatchGAN discriminator D and
a patch sampler H (an MLP head per encoder layer l). For a layer l, the query patches are
q = H_l(G_enc^l(G(x))) and the keys k = H_l(G_enc^l(x)) at the same sampled locations; PatchNCE
(see :class:`style_gan.gan.losses.PatchNCELoss`) pulls each q to the k at its own location and away
from the other locations of the same image, averaged over the layers:

    L_NCE(X) = 1/|L| · Σ_l PatchNCE(H_l(G_enc^l(G(x))), H_l(G_enc^l(x)))
    L_NCE(Y) = the same on (G(y), y): the identity term, keeps G from changing Y images
    L_G      = L_adv(D(G(x))) + λ_NCE · mean(L_NCE(X) [, L_NCE(Y) if nce_idt])
               [+ λ_identity · ‖G(y) - y‖₁, not in CUT: see ``lambda_identity``]
    L_D      = ½ · L_D(y, G(x))

CUT: λ_NCE = 1 with the identity term; FastCUT: λ_NCE = 10 without it, plus flip
equivariance (with probability ½ the input is flipped left-right and the query features are
flipped back before PatchNCE). As in the authors' code, the X and Y terms are averaged, i.e.
the paper's Eq. 5 with λ_X = λ_Y = λ_NCE / 2. H is trained by G's optimizer in G's phase. L_adv
and L_D are those of ``adversarial`` (CUT: lsgan).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from style_gan.errors import ConfigError
from style_gan.gan.adversarial import Adversarial
from style_gan.gan.losses import PatchNCELoss, identity_loss
from style_gan.methods.base import Batch, GanMethod, OptimizerFactory
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.init import init_weights
from style_gan.nets.patch_sampler import PatchSampler


class CUT(GanMethod):
    """CUT/FastCUT with manual dual-optimizer steps (FastCUT is a config: conf/model/fastcut).

    ``generator`` must offer ``encode(x, layers)`` and ``feature_channels(layers)`` (the
    ResNet generator does); ``nce_layers`` are indices into its layers. ``lambda_nce``: λ_NCE
    (CUT 1, FastCUT 10; 0 = a plain one-sided GAN). ``nce_idt``: add the identity term
    PatchNCE(G(y), y). ``nce_temperature``: τ. ``num_patches``: locations per layer (a layer
    with fewer gives all). ``projection_channels``: width of H's MLP heads.
    ``flip_equivariance``: FastCUT's random horizontal flip of G's input for the NCE terms.
    ``lambda_identity`` (0 = off, as in CUT) weighs CycleGAN's pixel identity term
    ‖G(y) - y‖₁: PatchNCE is blind to which colour a patch gets, the pixel term pins a
    style image's own colours.
    ``ema_decay`` (None = off) keeps an exponential moving average of G that validates and
    samples. ``gradient_clip_norm`` None = no clipping. The learning rate is constant for
    ``lr_constant_epochs`` then decays linearly to ~0 over ``lr_decay_epochs``.
    """

    def __init__(
        self,
        generator: Callable[[], nn.Module],
        discriminator: Callable[[], nn.Module],
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        adversarial: Adversarial | None = None,
        lambda_nce: float = 1.0,
        nce_idt: bool = True,
        nce_layers: Sequence[int] = (0, 4, 8, 12, 16),
        nce_temperature: float = 0.07,
        num_patches: int = 256,
        projection_channels: int = 256,
        flip_equivariance: bool = False,
        lambda_identity: float = 0.0,
        init_type: str = "xavier",
        init_gain: float = 0.02,
        lr_constant_epochs: int = 200,
        lr_decay_epochs: int = 200,
        ema_decay: float | None = None,
        gradient_clip_norm: float | None = None,
        metrics: MetricSuite | None = None,
    ) -> None:
        super().__init__(optimizer_g, optimizer_d, lr_constant_epochs, lr_decay_epochs, metrics)
        if lambda_nce < 0:
            raise ConfigError(f"model.lambda_nce={lambda_nce} must be >= 0 (CUT 1, FastCUT 10)")
        if lambda_identity < 0:
            raise ConfigError(f"model.lambda_identity={lambda_identity} must be >= 0 (0 = off)")
        if num_patches < 1:
            raise ConfigError(f"model.num_patches={num_patches} must be >= 1 (CUT: 256)")
        self.generator = init_weights(generator(), init_type, init_gain)
        if not hasattr(self.generator, "encode"):
            raise ConfigError(
                f"CUT needs a generator with encode(x, layers), got "
                f"{type(self.generator).__name__}; use model/generator=resnet_9blocks"
            )
        self.nce_layers = list(nce_layers)
        channels = self.generator.feature_channels(self.nce_layers)
        self.patch_sampler = init_weights(
            PatchSampler(channels, num_patches, projection_channels), init_type, init_gain
        )
        self.discriminator = init_weights(discriminator(), init_type, init_gain)
        self.keep_ema(ema_decay)
        self.adversarial = adversarial or Adversarial()
        self.patch_nce = PatchNCELoss(nce_temperature)

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        # H learns with G, in G's phase (CUT's optimizer_F steps with optimizer_G).
        return itertools.chain(self.generator.parameters(), self.patch_sampler.parameters())

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    def nce_loss(
        self, source: torch.Tensor, output: torch.Tensor, flipped: bool = False
    ) -> torch.Tensor:
        """L_NCE: PatchNCE between G_enc of ``output`` (queries) and of ``source`` (keys) at
        the same random locations, averaged over ``nce_layers``. ``flipped``: ``output`` is G
        of the left-right flipped ``source``, so its features are flipped back first."""
        queries = self.generator.encode(output, self.nce_layers)
        if flipped:
            queries = [feature.flip(-1) for feature in queries]
        # The keys are detached in PatchNCE (as in CUT), so no graph is needed for them.
        with torch.no_grad():
            keys = self.generator.encode(source, self.nce_layers)
        query_patches, patch_ids = self.patch_sampler(queries)
        key_patches, _ = self.patch_sampler(keys, patch_ids)
        losses = [self.patch_nce(q, k) for q, k in zip(query_patches, key_patches, strict=True)]
        return torch.stack(losses).mean()

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        real_x, real_y = batch["content"], batch["style"]
        hp = self.hparams
        n = real_x.shape[0]

        # G and H learn in G's phase.
        def generator_step() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            # One pass over x and y together when an identity term needs G(y) (per-image norms).
            needs_identity = hp.nce_idt or hp.lambda_identity > 0
            inputs = torch.cat([real_x, real_y]) if needs_identity else real_x
            flipped = hp.flip_equivariance and bool(torch.rand(()) < 0.5)
            if flipped:
                inputs = inputs.flip(-1)
            outputs = self.generator(inputs)
            fake_y = outputs[:n]
            loss_adv = self.adversarial.generator_loss(self.discriminator, fake_y)
            terms = {"train/g_adv": loss_adv}
            nce_terms = []
            if hp.lambda_nce > 0:
                terms["train/nce"] = self.nce_loss(real_x, fake_y, flipped)
                nce_terms.append(terms["train/nce"])
                if hp.nce_idt:
                    terms["train/nce_idt"] = self.nce_loss(real_y, outputs[n:], flipped)
                    nce_terms.append(terms["train/nce_idt"])
            loss_g = loss_adv
            if nce_terms:
                loss_g = loss_g + hp.lambda_nce * torch.stack(nce_terms).mean()
            if hp.lambda_identity > 0:
                terms["train/idt"] = identity_loss(outputs[n:], inputs[n:])
                loss_g = loss_g + hp.lambda_identity * terms["train/idt"]
            return {**terms, "train/g": loss_g}, fake_y

        losses, fake_y = self.generator_phase(generator_step)
        # On the fake above (detached by the objective); as in CUT, D learns at half G's pace.
        losses |= self.discriminator_phase({"": (self.discriminator, real_y, fake_y)}, weight=0.5)
        self.log_losses(losses, batch_size=n)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        real_x = batch["content"]
        fake_y = self(real_x)
        values = {
            "val/g_adv": self.adversarial.loss.generator_loss(self.discriminator(fake_y)),
            "val/nce": self.nce_loss(real_x, fake_y),
        }
        self.log_dict(values, batch_size=real_x.shape[0], sync_dist=True)
        self.update_metrics(batch, fake_y)

    @torch.no_grad()
    def sample_images(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named image rows for a sample grid: content, translated, identity G(style) (CUT's
        identity term keeps it close to the style image), style."""
        real_x = batch["content"].to(self.device)
        real_y = batch["style"].to(self.device)
        rows = {"content": real_x, "translated": self(real_x)}
        if real_y.shape[0] >= real_x.shape[0]:  # a column needs one image per example
            rows["identity"] = self(real_y[: real_x.shape[0]])
        rows["style"] = real_y
        return rows
