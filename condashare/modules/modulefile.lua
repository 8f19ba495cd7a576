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

local function ask(what)
  local cmd = "/bin/sh -c " .. shq(helper) .. " condashare-module " .. shq(release) .. " "
    .. shq(timeout) .. " " .. what .. " </dev/null 2>/dev/null"
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

-- Which activate.d scripts ran, and whether conda.sh was sourced, is kept for the unload, which
-- must not touch the share.
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

-- conda's own shell function (conda activate, conda deactivate) from the installation's
-- conda.sh, in bash and zsh, first: what it sets is then overridden by the activation below.
local shell = myShellName()
local sourced = conda_sh and (shell == "bash" or shell == "zsh")
if sourced then
  source_sh(shell, prefix .. "/etc/profile.d/conda.sh")
end

-- What 'conda activate' of the release sets; pushenv restores each old value on unload.
local env = prefix .. "/envs/" .. release
prepend_path("PATH", env .. "/bin")
pushenv("CONDA_PREFIX", env)
pushenv("CONDA_DEFAULT_ENV", release)
pushenv("CONDA_SHLVL", "1")
pushenv("CONDA_PROMPT_MODIFIER", "(" .. release .. ") ")
if not sourced then -- else conda.sh set them (and source_sh undoes that: no second record)
  pushenv("CONDA_EXE", prefix .. "/bin/conda")
  pushenv("CONDA_PYTHON_EXE", prefix .. "/bin/python")
end

-- The env's activate.d scripts, through source_sh: Lmod records what each changed and undoes
-- exactly that on unload.
for _, name in ipairs(hooks) do
  source_sh("bash", env .. "/etc/conda/activate.d/" .. name)
end
