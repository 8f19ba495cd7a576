# condashare: the probe child's reader (POSIX awk). Only an open and a read prove that a share
# answers: a client's attribute cache answers `[ -r FILE ]` for seconds after the server died.
# So the block's probe child reads the conda startup file the shell is about to source, and the
# shell sources what it read: the shell itself never opens a file on the share at start-up.
# Run as a freshly exec'd `awk PROGRAM FILE`, stdin and stderr on /dev/null, stdout a pipe of
# its own: stuck in the kernel, it holds none of the shell's descriptors.
# Prints, in one write once the file is read and closed: "ok", a line break and the content; or
# "missing"; or "error WHY" (the errno's words from cat's C-locale message); then the line
# "#condashare-end" (a comment in sh, csh and fish). So once "ok" arrived, the rest of the
# answer comes from memory, not from the share.
BEGIN {
  f = ARGV[1]
  while ((r = (getline l < f)) > 0) s = s l "\n"
  close(f)
  if (r == 0) {
    printf "ok\n%s#condashare-end\n", s
    exit
  }
  q = f
  gsub(/\047/, "\047\\\047\047", q)
  c = "LC_ALL=C cat -- \047" q "\047 2>&1 >/dev/null"
  m = ""
  c | getline m
  close(c)
  sub(/.*: /, "", m)
  if (m == "No such file or directory" || m == "Not a directory") v = "missing"
  else if (m == "") v = "error read error"
  else {
    v = tolower(m)
    gsub(/[^a-z0-9 .\/-]/, "", v)
    v = "error " v
  }
  printf "%s\n#condashare-end\n", v
}
