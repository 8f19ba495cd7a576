"""The machine condashare runs on: OS, architecture and shell (:mod:`.detect`), and the mount
table that says which paths may sit on a share (:mod:`.mounts`)."""
