-- luacheck: globals love
-- A small window, no audio: the game only needs a frame loop and a GPU texture.
function love.conf(t)
  t.identity = "firefly-love-spec"
  t.window.title = "firefly in LÖVE"
  t.window.width, t.window.height = 320, 200
  t.window.vsync = 1
  t.modules.audio, t.modules.sound, t.modules.joystick, t.modules.physics = false, false, false, false
end
