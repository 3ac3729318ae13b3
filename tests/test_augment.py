"""Augmented copies (songmap.features.augment), their cache entries, and the invariance they train."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, resample_poly, sosfilt, sosfreqz

from conftest import write_audio
from songmap.features.augment import RecordingChain, apply_chain, butterworth_power, chain_rngs, draw_chain
from songmap.features.cache import FeatureCache
from songmap.features.spectrogram import FeatureParams, log_mel_from_power, power_spectrogram
from songmap.features.windows import WindowSpec, extract_windows

SR = 22050
PARAMS = FeatureParams()


def tune(notes, *, seconds: float = 12.0, partials: int = 4, seed: int = 0) -> np.ndarray:
    """A looping melody of harmonic tones (MIDI ``notes``) with ``partials`` harmonics, over a quiet noise floor."""
    rng = np.random.default_rng(seed)
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t)
    parts = [envelope * sum(np.sin(2 * np.pi * 440.0 * 2 ** ((note - 69) / 12) * k * t) / k for k in range(1, partials + 1))
             for note in notes]
    y = np.tile(np.concatenate(parts), int(np.ceil(seconds * SR / (n * len(notes)))))[: int(seconds * SR)]
    return (0.3 * y + 0.002 * rng.standard_normal(len(y))).astype(np.float32)


def test_chains_are_deterministic_given_the_seed_and_differ_across_tracks_and_copies() -> None:
    def chains(name: str, seed: int) -> list[RecordingChain]:
        return [draw_chain(rng) for rng in chain_rngs(name, seed=seed, copies=3)]

    assert chains("a.ogg", 0) == chains("a.ogg", 0)
    assert chains("/music/a.ogg", 0) == chains("/elsewhere/a.ogg", 0)  # the file's name, not its folder
    assert chains("a.ogg", 0) != chains("b.ogg", 0)
    assert chains("a.ogg", 0) != chains("a.ogg", 1)
    copies = chains("a.ogg", 0)
    assert len(set(copies)) == 3


def test_extracted_copies_are_repeatable_and_differ_from_the_clean_image(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "theme.wav", tune([60, 64, 67, 72, 71, 67]), SR)
    spec = WindowSpec(window_s=6.0, max_windows=2, augment=2, augment_seed=0)
    first, again = extract_windows(path, PARAMS, spec), extract_windows(path, PARAMS, spec)
    assert first.augmented.shape == (2, PARAMS.n_mels + 12, 16)
    np.testing.assert_array_equal(first.augmented, again.augmented)
    clean = extract_windows(path, PARAMS, spec.clean())
    assert clean.augmented is None
    np.testing.assert_array_equal(clean.images, first.images)  # the clean images do not depend on the copies
    assert not np.allclose(first.augmented[0], clean.summary(), atol=1e-2)
    assert not np.allclose(first.augmented[0], first.augmented[1], atol=1e-2)
    other = extract_windows(path, PARAMS, replace(spec, augment_seed=1))
    assert not np.allclose(other.augmented, first.augmented)


def test_the_chain_on_the_power_spectrogram_matches_the_same_filters_on_the_signal() -> None:
    y = tune([60, 64, 67, 72, 71, 67, 64, 62], seconds=6.0, partials=12) + 0.05 * np.random.default_rng(1).standard_normal(6 * SR)
    y = y.astype(np.float32)
    chain = RecordingChain(low_cut_hz=300.0, low_order=4, high_cut_hz=3400.0, high_order=8, tilt_db=0.0,
                           snr_db=None, pink=False, codec_db=None)
    heard = apply_chain(power_spectrogram(y, PARAMS), chain, np.random.default_rng(0), sample_rate=SR, n_fft=PARAMS.n_fft)
    filtered = sosfilt(butter(4, 300.0, "highpass", fs=SR, output="sos"), y)
    filtered = sosfilt(butter(8, 3400.0, "lowpass", fs=SR, output="sos"), filtered).astype(np.float32)
    expected = log_mel_from_power(power_spectrogram(filtered, PARAMS), PARAMS)
    got = log_mel_from_power(heard, PARAMS)
    audible = expected.mean(axis=1) > -60  # bands the filters leave within 60 dB of the peak
    assert audible.sum() > 40
    assert np.median(np.abs(got - expected)[audible]) < 1.0  # dB
    # A brick-wall resampling to 8 kHz: nothing above its passband, as resampling the signal leaves nothing there.
    to_8k = replace(chain, high_cut_hz=8000 / 2 * 0.91, high_order=0)
    heard = apply_chain(power_spectrogram(y, PARAMS), to_8k, np.random.default_rng(0), sample_rate=SR, n_fft=PARAMS.n_fft)
    freqs = np.fft.rfftfreq(PARAMS.n_fft, 1 / SR)
    assert heard[:, freqs > 3700].max() == 0.0
    resampled = resample_poly(resample_poly(y, 320, 882), 882, 320).astype(np.float32)
    power = power_spectrogram(resampled[: len(y)], PARAMS)
    assert power[:, freqs > 4100].sum() < 1e-4 * power.sum()


@pytest.mark.parametrize("order", [2, 4, 8])
@pytest.mark.parametrize("highpass", [True, False])
def test_butterworth_power_is_scipys_filter_response(order: int, highpass: bool) -> None:
    freqs = np.fft.rfftfreq(2048, 1.0 / SR)
    for cut in (100.0, 450.0, 2500.0, 8000.0):
        sos = butter(order, cut, "highpass" if highpass else "lowpass", fs=SR, output="sos")
        expected = np.abs(sosfreqz(sos, worN=freqs, fs=SR)[1]) ** 2
        got = butterworth_power(freqs, cut_hz=cut, order=order, sample_rate=SR, highpass=highpass)
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_noise_is_added_at_the_drawn_level() -> None:
    power = power_spectrogram(tune([60, 67, 72, 64], seconds=4.0), PARAMS)
    chain = RecordingChain(low_cut_hz=20.0, low_order=2, high_cut_hz=11000.0, high_order=4, tilt_db=0.0,
                           snr_db=20.0, pink=False, codec_db=None)
    heard = apply_chain(power, chain, np.random.default_rng(0), sample_rate=SR, n_fft=PARAMS.n_fft)
    added = heard.astype(np.float64).sum() - power.astype(np.float64).sum()  # the 20 Hz high-pass takes ~nothing
    assert 10 * np.log10(power.sum() / added) == pytest.approx(20.0, abs=1.0)


def test_cache_keys_include_the_augmentation_settings(tmp_path: Path) -> None:
    spec = WindowSpec(window_s=6.0, max_windows=2)
    assert "augment" not in spec.key()  # clean entries keep the key they had before augmentation
    keys = {spec.key(), replace(spec, augment=1).key(), replace(spec, augment=2).key(),
            replace(spec, augment=2, augment_seed=5).key()}
    assert len(keys) == 4
    path = write_audio(tmp_path / "theme.wav", tune([60, 64, 67, 72]), SR)
    cache = FeatureCache(tmp_path / "cache")
    augmented_spec = replace(spec, augment=2, augment_seed=3)
    features = extract_windows(path, PARAMS, augmented_spec)
    cache.put_windows(path, PARAMS, augmented_spec, features)
    clean = cache.get_windows(path, PARAMS, spec)  # placing reads the clean images of the same entry
    assert clean is not None and clean.augmented is None
    np.testing.assert_array_equal(clean.images, features.images)
    again = cache.get_windows(path, PARAMS, augmented_spec)
    np.testing.assert_array_equal(again.augmented, features.augmented)
    assert cache.get_windows(path, PARAMS, replace(augmented_spec, augment_seed=4)) is None
    assert cache.get_windows(path, PARAMS, replace(augmented_spec, augment=1)) is None


def test_a_track_cut_between_its_two_cache_entries_keeps_the_one_it_wrote(tmp_path: Path) -> None:
    # A kill after the clean entry and before the copies' entry: the next run recomputes the track,
    # writes the missing entry and leaves the finished one as it was.
    spec = WindowSpec(window_s=6.0, max_windows=2, augment=2)
    path = write_audio(tmp_path / "theme.wav", tune([60, 64, 67, 72]), SR)
    cache = FeatureCache(tmp_path / "cache")
    features = extract_windows(path, PARAMS, spec)
    cache.put_windows(path, PARAMS, replace(spec, augment=0), features)
    (finished,) = cache.folder.glob("*.npz")
    written = finished.stat().st_mtime_ns
    assert cache.get_windows(path, PARAMS, spec) is None  # the copies are missing
    cache.put_windows(path, PARAMS, spec, extract_windows(path, PARAMS, spec))
    assert finished.stat().st_mtime_ns == written
    assert len(list(cache.folder.glob("*.npz"))) == 2
    np.testing.assert_array_equal(cache.get_windows(path, PARAMS, spec).augmented, features.augmented)


def test_unseen_recording_chains_move_a_track_less_after_augmented_training(tmp_path: Path) -> None:
    from songmap.mapper import SongMapper
    from songmap.model.numpy_encoder import encode_numpy

    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):  # tunes of different melodies and timbres (1-8 partials)
        notes = list(rng.integers(40, 84, size=int(rng.integers(4, 12))))
        paths.append(write_audio(tmp_path / f"tune{i:02d}.wav", tune(notes, partials=1 + i % 8, seed=i), SR))

    def moved(**params) -> float:
        """Mean distance from each track to copies of it through 3 chains training never saw, over the map's spread."""
        mapper = SongMapper(preset="songwise", seed=0, epochs=150, **params).fit(paths)
        xy = mapper.embedding_
        spread = np.median(np.linalg.norm(xy[:, None] - xy[None], axis=2)[np.triu_indices(len(xy), 1)])
        spec = replace(mapper._window_spec(), augment=3, augment_seed=1234)
        distances = []
        for i, path in enumerate(paths):
            copies = extract_windows(path, PARAMS, spec).augmented
            distances.append(np.linalg.norm(encode_numpy(mapper.weights_, copies, prepare=mapper._normalise) - xy[i], axis=1))
        return float(np.mean(distances) / spread)

    without, with_copies = moved(augment=0), moved(augment=2, invariance_weight=1.0, nuisance_dims=2)
    assert with_copies < 0.7 * without, (with_copies, without)


def test_augment_is_checked_and_old_models_load_without_it(tmp_path: Path) -> None:
    from songmap.mapper import SongMapper
    from songmap.mapper.persistence import read_model, write_model

    paths = [write_audio(tmp_path / f"t{i}.wav", tune([60 + i, 64, 67 + i, 72]), SR) for i in range(3)]
    with pytest.raises(ValueError, match="augment needs"):
        SongMapper(preset="modulation", augment=2).fit(paths)
    with pytest.raises(ValueError, match="'augment' parameter of SongMapper must be"):
        SongMapper(preset="songwise", augment=-1).fit(paths)
    mapper = SongMapper(preset="songwise", epochs=2, augment=1, invariance_weight=1.0).fit(paths)
    assert mapper.params_["augment"] == 1
    mapper.save(tmp_path / "model.safetensors")
    assert SongMapper.load(tmp_path / "model.safetensors").augment_ == 1
    # A model saved before augmentation existed: no augment in its params; it was trained without copies.
    state = read_model(tmp_path / "model.safetensors")
    header = {k: state[k] for k in ("params", "feature_params", "crop_seconds", "model_config", "training")}
    header["params"] = {k: v for k, v in header["params"].items() if k not in ("augment", "invariance_weight", "nuisance_dims")}
    write_model(tmp_path / "old.safetensors", **header, weights=state["weights"], band_mean=state["band_mean"], band_std=state["band_std"])
    old = SongMapper.load(tmp_path / "old.safetensors")
    assert old.augment_ == 0 and old.params_["invariance_weight"] == 0.0 and old.params_["nuisance_dims"] == 0
    np.testing.assert_allclose(old.transform(paths[:1]), mapper.transform(paths[:1]))


def test_nuisance_directions_are_where_the_copies_move() -> None:
    from songmap.model.training import nuisance_directions

    rng = np.random.default_rng(0)
    tracks = rng.standard_normal((40, 6, 5)).astype(np.float32)
    u, v = np.zeros(30), np.zeros(30)
    u[3], v[17] = 1.0, 1.0
    shifts = rng.standard_normal((40, 2, 1)) * 3.0 * u + rng.standard_normal((40, 2, 1)) * 1.0 * v
    copies = (tracks[:, None] + shifts.reshape(40, 2, 6, 5) + 0.01 * rng.standard_normal((40, 2, 6, 5))).astype(np.float32)
    found = nuisance_directions(tracks, copies, 2, max_tracks=25)  # a subset of the tracks finds them too
    assert found.shape == (2, 30)
    norms = np.linalg.norm(found, axis=1)
    directions = found / norms[:, None]
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-5)
    assert abs(directions[0] @ u) > 0.99 and abs(directions[1] @ v) > 0.99  # the larger change first
    # Each is scaled by sqrt(1 - Wiener gain): the tracks spread 1 along both, the copies move 3 along
    # u (gain 1 / (1 + 9) = 0.1: 90 % removed) and 1 along v (gain 0.5: about half removed).
    # Sampled from 25 tracks, so only roughly so.
    assert 0.8 < norms[0] ** 2 < 0.97 and 0.3 < norms[1] ** 2 < 0.75
    doubled = nuisance_directions(tracks, copies, 1, prepare=lambda x: 2 * x)
    assert abs(doubled[0] @ u) / np.linalg.norm(doubled[0]) > 0.99
    # Copies of some tracks only: the same directions as from those tracks alone.
    some = np.array([1, 4, 9, 16, 25, 36])
    np.testing.assert_array_equal(nuisance_directions(tracks, copies[some], 2, tracks=some),
                                  nuisance_directions(tracks[some], copies[some], 2))


def test_recording_is_discounted_only_between_pairs_it_mostly_separates() -> None:
    """A copy that differs from its song along a recording direction is drawn to it; songs that differ
    along it and elsewhere keep their raw distance; ratio 1 is the shrunk distance for every pair."""
    import torch

    from songmap.model.training import recording_discounted_distances

    rng = np.random.default_rng(2)
    songs = rng.standard_normal((6, 8))
    songs[:, 0] = rng.standard_normal(6) * 2.0  # songs also differ along the recording direction
    copy = songs[0] + np.eye(8)[0] * 7.0         # a recording of song 0, moved along it only
    x = torch.from_numpy(np.vstack([songs, copy]))
    nuisance = torch.from_numpy(np.eye(8)[:1] * np.sqrt(0.9))  # keeps 10 % of that direction
    raw = torch.cdist(x, x).square()
    centred = x - (x @ nuisance.T) @ nuisance
    shrunk = torch.cdist(centred, centred).square()

    found = recording_discounted_distances(x, nuisance, ratio=0.5)
    assert found.dtype == torch.float64 and found.shape == (7, 7)
    assert torch.all(found.diagonal() == 0) and torch.allclose(found, found.T)
    assert torch.isclose(found[6, 0], shrunk[6, 0] / 0.5)  # shrunk to 10 %: below half, discounted
    assert found[6, 0] < 0.25 * raw[6, 0]
    kept = shrunk / raw >= 0.5
    kept.fill_diagonal_(False)
    assert kept.sum() > 0 and torch.equal(found[kept], raw[kept])  # pairs mostly apart in the music
    assert torch.all(found <= raw + 1e-12)
    everywhere = recording_discounted_distances(x, nuisance, ratio=1.0)
    assert torch.allclose(everywhere, shrunk.fill_diagonal_(0.0))
    # The song's own nearest neighbour is its copy once the recording is discounted, not before.
    assert int(torch.argsort(raw[0])[1]) != 6 and int(torch.argsort(found[0])[1]) == 6


def test_recording_discount_is_kept_to_each_others_nearest() -> None:
    """With ``neighbours``, a copy still takes the discount to its song, while a far track that differs
    from the song mostly along the recording keeps its raw distance: its own neighbours are nearer."""
    import torch

    from songmap.model.training import recording_discounted_distances

    # Axis 0 is all recording (10 % kept), axis 1 is the music.
    song, copy, other, far, far_friend, far_other = range(6)
    x = torch.tensor([[0.0, 0.0], [4.0, 0.1], [0.0, 1.0], [30.0, 0.2], [30.0, 0.5], [30.0, 0.9]])
    nuisance = torch.tensor([[np.sqrt(0.9), 0.0]])
    raw = torch.cdist(x.double(), x.double()).square()
    everywhere = recording_discounted_distances(x, nuisance, ratio=0.5)
    gated = recording_discounted_distances(x, nuisance, ratio=0.5, neighbours=2)
    assert everywhere[far, song] < 0.25 * raw[far, song]  # without the gate the far track is drawn in
    assert gated[far, song] == raw[far, song] and gated[song, far] == raw[song, far]
    assert gated[copy, song] == everywhere[copy, song] < 0.25 * raw[copy, song]
    assert torch.allclose(gated, gated.T) and torch.all(gated.diagonal() == 0)
    assert torch.all((gated == everywhere) | (gated == raw))
    assert torch.equal(recording_discounted_distances(x, nuisance, ratio=0.5, neighbours=0), everywhere)


def test_copies_are_made_only_for_the_tracks_that_measure_the_recording(tmp_path: Path, monkeypatch) -> None:
    """Without the pull, only NUISANCE_TRACKS evenly spaced tracks get copies, and training reads them from the
    rows of those very tracks (a file that fails in between moves the rows); with the pull, every track."""
    import songmap.features.parallel as parallel
    import songmap.mapper.estimator as estimator
    import songmap.model.training as training
    from songmap.mapper import SongMapper

    rng = np.random.default_rng(1)
    paths = []
    for i in range(7):
        y = tune(list(rng.integers(48, 80, size=6)), partials=1 + i % 4, seed=i)
        paths.append(write_audio(tmp_path / f"t{i}.wav", np.zeros_like(y) if i == 2 else y, SR))  # t2: silent
    copied_names, rows_given = [], []
    extract = parallel.extract_windows
    nuisance = training.nuisance_directions

    def recording_extract(path, params, spec, *args):
        if spec.augment:
            copied_names.append(Path(path).name)
        return extract(path, params, spec, *args)

    def recording_nuisance(inputs, augmented, k, prepare=None, tracks=None, **kwargs):
        rows_given.append(tracks.tolist())
        return nuisance(inputs, augmented, k, prepare, tracks=tracks, **kwargs)

    monkeypatch.setattr(parallel, "extract_windows", recording_extract)
    monkeypatch.setattr(training, "nuisance_directions", recording_nuisance)
    monkeypatch.setattr(estimator, "NUISANCE_TRACKS", 4)
    mapper = SongMapper(preset="songwise", seed=0, epochs=3).fit(paths)
    assert [p.name for p, _ in mapper.skipped_] == ["t2.wav"]
    assert sorted(copied_names) == ["t0.wav", "t2.wav", "t4.wav", "t6.wav"]  # linspace(0, 6, 4)
    assert rows_given == [[0, 3, 5]]  # t0, t4, t6 among the rows of t0 t1 t3 t4 t5 t6
    assert np.isfinite(mapper.embedding_[[0, 1, 3, 4, 5, 6]]).all()

    copied_names.clear()
    SongMapper(preset="songwise", seed=0, epochs=3, invariance_weight=1.0).fit(paths)
    assert sorted(copied_names) == [f"t{i}.wav" for i in range(7)]
