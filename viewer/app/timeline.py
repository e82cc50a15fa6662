"""Playback position: the current frame, play/pause, rate and looping (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Timeline:
    """Frame index driven by the slider, the arrow keys and the playback clock."""

    n_frames: int
    rate: float                 # frames per second when playing (default: the model's fps)
    frame: int = 0
    playing: bool = False
    loop: bool = True
    every_frame: bool = False   # playback waits for each frame to be drawn (slow backends) instead of keeping time
    _clock: float = 0.0

    def seek(self, index: int) -> None:
        self.frame = min(max(int(index), 0), self.n_frames - 1)
        self._clock = 0.0

    def step(self, delta: int) -> None:
        """Move by ``delta`` frames; wraps around when looping."""
        target = self.frame + delta
        if self.loop:
            target %= self.n_frames
        self.seek(target)

    def toggle(self) -> None:
        if not self.playing and not self.loop and self.frame == self.n_frames - 1:
            self.seek(0)  # play again from the start
        self.playing = not self.playing
        self._clock = 0.0

    def advance(self, dt: float) -> bool:
        """Advance the playback clock by ``dt`` seconds; True if the frame changed."""
        if not self.playing or self.n_frames <= 1:
            return False
        self._clock += dt * self.rate
        steps = int(self._clock)
        if steps == 0:
            return False
        self._clock -= steps
        target = self.frame + steps
        if target >= self.n_frames:
            if self.loop:
                target %= self.n_frames
            else:
                target, self.playing = self.n_frames - 1, False
        changed = target != self.frame
        self.frame = target
        return changed
