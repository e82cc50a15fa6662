"""Playback position: the current frame, play/pause, rate, looping and in/out points (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Timeline:
    """Frame index driven by the slider, the arrow keys and the playback clock.

    Playback runs between the in and out points (the whole sequence when none is set); seeking and stepping by
    hand may go anywhere, and playing from outside the range starts at the in point.
    """

    n_frames: int
    rate: float                 # frames per second when playing (default: the model's fps)
    frame: int = 0
    playing: bool = False
    loop: bool = True
    every_frame: bool = False   # playback waits for each frame to be drawn (slow backends) instead of keeping time
    in_frame: int = 0           # first frame of the playback range
    out_frame: int | None = None  # last frame of the playback range; None: the last frame
    _clock: float = 0.0

    @property
    def last(self) -> int:
        """The out point (the last frame when none is set)."""
        return self.n_frames - 1 if self.out_frame is None else self.out_frame

    def set_in(self, index: int | None) -> None:
        """Set the in point (None clears it); an out point before it is cleared."""
        self.in_frame = 0 if index is None else min(max(int(index), 0), self.n_frames - 1)
        if self.out_frame is not None and self.out_frame < self.in_frame:
            self.out_frame = None

    def set_out(self, index: int | None) -> None:
        """Set the out point (None clears it); an in point after it is cleared."""
        self.out_frame = None if index is None else min(max(int(index), 0), self.n_frames - 1)
        if self.out_frame is not None and self.in_frame > self.out_frame:
            self.in_frame = 0

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
        if not self.playing and (not self.in_frame <= self.frame <= self.last
                                 or (not self.loop and self.frame == self.last)):
            self.seek(self.in_frame)  # play again from the in point
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
        first, last = self.in_frame, self.last
        target = self.frame + steps if first <= self.frame <= last else first
        if target > last:
            if self.loop:
                target = first + (target - first) % (last - first + 1)
            else:
                target, self.playing = last, False
        changed = target != self.frame
        self.frame = target
        return changed
