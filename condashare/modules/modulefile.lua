-- condashare modules: written by 'condashare modules'; run it again to update, or
-- 'condashare modules --reverse' to remove it. Changes made here are lost. See docs/modules.md.
-- release: __CONDASHARE_RELEASE__
local release = "__CONDASHARE_RELEASE__"
local timeout = "__CONDASHARE_TIMEOUT__"
whatis("Description: __CONDASHARE_WHATIS__")
help([[
__CONDASHARE_HELP__
]])
family("condashare")

-- Which installation serves this machine (uname -sm, the shell block's case) and, on load, a
-- bounded read of the env: all of it in /bin/sh, so a dead share costs the timeout, not a hang.
local helper = [==[
__CONDASHARE_PROBE__
]==]

local function shq(s)
  return "'" .. (string.gsub(s, "'", "'\\''")) .. "'"
end

-- conda's shell integration for each shell, below the installation's prefix.
local conda_files = {
  bash = "etc/profile.d/conda.sh", zsh = "etc/profile.d/conda.sh",
  tcsh = "etc/profile.d/conda.csh", csh = "etc/profile.d/conda.csh",
  fish = "etc/fish/conf.d/conda.fish",
}
local shell = myShellName()
local conda_file = conda_files[shell] or ""

local function ask(what)
  local cmd = "/bin/sh -c " .. shq(helper) .. " condashare-module " .. shq(release) .. " "
    .. shq(timeout) .. " " .. what .. " " .. shq(conda_file) .. " </dev/null 2>/dev/null"
  local line = string.match(capture(cmd) or "", "^[^\n]*") or ""
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    fields[#fields + 1] = field
  end
  return fields
end

local function fail(message)
  LmodError("condashare: " .. myModuleFullName() .. ": " .. message)
end

local m = mode()
if m == "spider" or m == "whatis" or m == "help" then
  return
end

local answer = ask(m == "load" and "load" or "find")
local status, prefix = answer[1] or "", answer[2] or ""
if status == "none" or prefix == "" then
  local machine = answer[2] or "unknown"
  if m == "load" then
    fail("no shared installation for this machine (" .. machine .. ") in the site file; "
      .. "run 'condashare modules' again, or ask your administrators")
  end
  return
end
if m == "load" then
  if status == "missing" then
    fail("release " .. release .. " is not installed for this machine: " .. prefix .. "/envs/"
      .. release .. " has no conda-meta/history; run 'condashare modules' to refresh the list")
  elseif status == "unreadable" then
    fail("cannot read " .. prefix .. "/envs/" .. release .. " (permissions?)")
  elseif status ~= "ok" then
    fail("the share holding " .. prefix .. " did not answer within " .. timeout
      .. " s (server down or network trouble); try again later, 'condashare doctor mount' "
      .. "tells more")
  end
end

-- Which activate.d scripts ran, and whether conda's file was sourced, is kept for the unload,
-- which must not touch the share.
local hooks, conda_sh = {}, false
local ran = {}
if m == "load" then
  for i = 3, #answer do
    ran[#ran + 1] = answer[i]
  end
else
  for name in string.gmatch(os.getenv("__CONDASHARE_HOOKS") or "", "[^:]+") do
    ran[#ran + 1] = name
  end
end
for _, name in ipairs(ran) do
  if name == "+conda" then
    conda_sh = true
  elseif string.match(name, "^[%w._+-]+%.sh$") then
    hooks[#hooks + 1] = name
  end
end
local kept = {}
for i, name in ipairs(hooks) do
  kept[i] = name
end
if conda_sh then
  kept[#kept + 1] = "+conda"
end
if #kept > 0 then
  pushenv("__CONDASHARE_HOOKS", table.concat(kept, ":"))
end

-- conda's own shell function (conda activate, conda deactivate), first: what it sets is then
-- overridden by the activation below. bash, zsh: the function from conda.sh; tcsh: the alias
-- from conda.csh (source_sh records both, and unload undoes exactly that). Lmod's source_sh
-- cannot read fish: there 'conda' is a function that sources conda.fish on its first call,
-- which defines conda's own function in its place (unload removes it; see docs/modules.md).
local sourced = conda_sh and (shell ~= "fish") and conda_file ~= ""
if sourced then
  -- The file sets CONDA_SHLVL=0, the pushenv below 1. Lmod undoes in file order, from one
  -- stack per variable, and source_sh's setenv by unsetting: with this pushenv first, the last
  -- undo (the pushenv below) takes the value from before the load, not the file's 0.
  pushenv("CONDA_SHLVL", "1")
  source_sh(shell, prefix .. "/" .. conda_file)
elseif conda_sh and shell == "fish" then
  local file = prefix .. "/" .. conda_file
  local word = "'" .. string.gsub(string.gsub(file, "\\", "\\\\"), "'", "\\'") .. "'"
  set_shell_function("conda", "source " .. word .. "; and conda $argv", "")
end

-- What 'conda activate' of the release sets; pushenv restores each old value on unload.
local env = prefix .. "/envs/" .. release
prepend_path("PATH", env .. "/bin")
pushenv("CONDA_PREFIX", env)
pushenv("CONDA_DEFAULT_ENV", release)
pushenv("CONDA_SHLVL", "1")
pushenv("CONDA_PROMPT_MODIFIER", "(" .. release .. ") ")
if not sourced then -- else conda's file set them (source_sh undoes that: no second record)
  pushenv("CONDA_EXE", prefix .. "/bin/conda")
  pushenv("CONDA_PYTHON_EXE", prefix .. "/bin/python")
end

-- The env's activate.d scripts, through source_sh: Lmod records what each changed and undoes
-- exactly that on unload.
for _, name in ipairs(hooks) do
  source_sh("bash", env .. "/etc/conda/activate.d/" .. name)
end
