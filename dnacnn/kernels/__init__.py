"""Kernel genomic prediction: GBLUP, Gaussian-kernel RKHS and kernel averaging (numpy / scipy only).

The classical references a breeder compares a network against:

- :class:`GBLUP`: the genomic BLUP of VanRaden (2008).  The genomic relationship matrix is
  ``G = Z Z' / (2 sum_j p_j (1 - p_j))`` where ``Z`` holds the 0/1/2 dosages centred by twice the
  allele frequency ``p_j`` of the training rows (a missing dosage takes its marker's training mean,
  so it contributes 0 to ``Z``).  The variance ratio ``delta = sigma_e^2 / sigma_g^2`` is chosen by
  REML (default) or by inner cross-validation on the training rows.  GBLUP is RR-BLUP in another
  basis: its predictions equal a ridge regression on the centred dosages with penalty
  ``delta * 2 sum_j p_j (1 - p_j)`` (:attr:`GBLUP.ridge_alpha_`), and it predicts new rows through
  the marker effects :attr:`GBLUP.marker_effects_` without keeping the training genotypes.
  (:func:`dnacnn.baselines.ridge` is the RidgeCV flavour of RR-BLUP, penalty by leave-one-out.)
- :class:`RKHS`: kernel regression with the Gaussian kernel ``K_ij = exp(-d_ij / h)`` on the scaled
  squared Euclidean distance ``d_ij = |x_i - x_j|^2 / mean_{k != l} |x_k - x_l|^2`` between dosage
  rows (de los Campos et al. 2010; Crossa et al. 2010), the bandwidth ``h`` and the penalty
  ``delta`` chosen on the training rows only: by inner k-fold CV (default), exact leave-one-out, or
  REML.  ``average=True`` fits one kernel, the mean of the Gaussian kernels of all ``bandwidths``
  ("kernel averaging" with equal weights), and chooses only ``delta``.
- :class:`KernelAverage`: kernel averaging as de los Campos et al. (2010) fit it, one variance
  component per kernel (Gaussian kernels of a local, a medium and a broad bandwidth, and the GRM),
  all estimated by REML on the training rows, so the data decide how additive or local the model is.

Every model is the mixed model ``y = 1 mu + g + e``, ``g ~ N(0, sigma_g^2 K)``, ``e ~ N(0, sigma_e^2 I)``,
solved through one eigendecomposition of the training kernel: ``mu`` is the GLS mean and the
prediction of any row ``x`` is ``mu + k(x, train) alpha`` with ``alpha = (K + delta I)^-1 (y - 1 mu)``.
All grids are searched exhaustively (then refined where continuous), folds come from ``seed``: a fit
is deterministic.

Inputs follow :mod:`dnacnn.baselines`: genotypes ``(n, markers)`` as uint8 codes 0/1/2 with 3 =
missing, or float dosages with NaN = missing; labels ``(n,)`` or ``(n, tasks)`` with NaN = missing
(a task is fitted on its labelled rows; predictions have the shape of the labels).  Kernels are
accumulated over blocks of markers (``chunk_markers``), so 500k markers need no dense float copy of
the genotype matrix: memory is a few ``n x n`` matrices plus one ``n x chunk`` block.  Costs: one
pass over the markers to build the kernel, then ``O(n^3)`` per eigendecomposition (GBLUP: one; RKHS
with k-fold CV: ``k + 1`` per bandwidth; with ``select="loo"`` or ``"reml"``: one per bandwidth;
KernelAverage: one Cholesky factorisation per likelihood evaluation, a few hundred).  On CIMMYT wheat
(599 lines x 1,279 markers) a fit takes 0.1-2 s on one core (``RKHS`` with 5-fold CV: ~5 s).
RKHS and KernelAverage keep the training genotypes (as given: 1 byte per uint8 code) to predict.

Modules: :mod:`~dnacnn.kernels.inputs` (default grids, input checks), :mod:`~dnacnn.kernels.relationship`
(GRM and distances over marker blocks), :mod:`~dnacnn.kernels.mixed_model` (the shared solver),
:mod:`~dnacnn.kernels.gblup`, :mod:`~dnacnn.kernels.rkhs` and :mod:`~dnacnn.kernels.average`; this
package re-exports their public names.
"""

from __future__ import annotations

from dnacnn.kernels.average import KernelAverage
from dnacnn.kernels.gblup import GBLUP
from dnacnn.kernels.inputs import (
    AVERAGE_BANDWIDTHS,
    DEFAULT_BANDWIDTHS,
    DEFAULT_PENALTIES,
    MULTI_BANDWIDTHS,
    SELECTIONS,
)
from dnacnn.kernels.relationship import (
    CHUNK_VALUES,
    centred_gram,
    genomic_relationship,
    marker_means,
    squared_distances,
    vanraden_scale,
)
from dnacnn.kernels.rkhs import RKHS

__all__ = [
    "AVERAGE_BANDWIDTHS",
    "CHUNK_VALUES",
    "DEFAULT_BANDWIDTHS",
    "DEFAULT_PENALTIES",
    "GBLUP",
    "MULTI_BANDWIDTHS",
    "RKHS",
    "SELECTIONS",
    "KernelAverage",
    "centred_gram",
    "genomic_relationship",
    "marker_means",
    "squared_distances",
    "vanraden_scale",
]
