"""The desktop viewer: window, input, UI panels and the render loop, on top of the rendering library."""
