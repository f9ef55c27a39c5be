{
  description = "cim-keys: offline, air-gapped key management with a content-addressed event history";

  # One input. The Rust toolchain comes from nixpkgs (rustc, cargo, clippy, rustfmt), not from
  # rust-toolchain.toml, which only rustup reads. Cargo.toml asks for Rust >= 1.95 (edition
  # 2024); a nixpkgs older than that fails with a clear "requires rustc 1.95" message.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { nixpkgs, ... }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # Libraries the desktop GUI (iced: winit + wgpu/tiny-skia) opens at run time on Linux.
      # They are loaded with dlopen, so they are needed on LD_LIBRARY_PATH, not at link time.
      guiRuntimeLibs =
        pkgs:
        pkgs.lib.optionals pkgs.stdenv.hostPlatform.isLinux [
          pkgs.libxkbcommon
          pkgs.wayland
          pkgs.xorg.libX11
          pkgs.xorg.libXcursor
          pkgs.xorg.libXi
          pkgs.xorg.libXrandr
          pkgs.vulkan-loader
        ];

      cimKeys =
        pkgs:
        { noDefaultFeatures ? false }:
        let
          lib = pkgs.lib;
          runtimeLibs = if noDefaultFeatures then [ ] else guiRuntimeLibs pkgs;
        in
        pkgs.rustPlatform.buildRustPackage {
          pname = if noDefaultFeatures then "cim-keys-core" else "cim-keys";
          version = (lib.importTOML ./Cargo.toml).package.version;
          # The working tree without build output (a flake in a git checkout only sees tracked
          # files anyway).
          src = lib.cleanSourceWith {
            src = ./.;
            filter = path: type: lib.cleanSourceFilter path type && baseNameOf path != "target";
          };
          cargoLock.lockFile = ./Cargo.lock;

          # Default features (gui, sync) unless asked otherwise. With
          # buildNoDefaultFeatures the binary has no GUI and no network code: the offline core.
          buildNoDefaultFeatures = noDefaultFeatures;

          # rusqlite's "bundled" feature compiles SQLite (and ring its assembly) with the stdenv
          # C compiler; the GUI's system libraries are dlopened, so nothing else is linked.
          # pkg-config is there for build scripts that probe before falling back.
          nativeBuildInputs = [ pkgs.pkg-config ] ++ lib.optionals (runtimeLibs != [ ]) [ pkgs.makeWrapper ];
          buildInputs = runtimeLibs;

          # The test suite runs with `scripts/test` in the dev shell and in CI (`.ci/run`);
          # later suites need a nats-server process and an X server, which the build sandbox
          # does not offer.
          doCheck = false;

          postFixup = lib.optionalString (runtimeLibs != [ ]) ''
            wrapProgram $out/bin/cim-keys --prefix LD_LIBRARY_PATH : ${lib.makeLibraryPath runtimeLibs}
          '';

          meta = {
            description = "Offline, air-gapped key management with a content-addressed event history";
            license = with lib.licenses; [
              mit
              asl20
            ];
            mainProgram = "cim-keys";
          };
        };
    in
    {
      packages = forAllSystems (pkgs: {
        # nix build            -> result/bin/cim-keys (GUI + sync)
        default = cimKeys pkgs { };
        # nix build .#core     -> the offline core only (cargo build --no-default-features)
        core = cimKeys pkgs { noDefaultFeatures = true; };
      });

      devShells = forAllSystems (pkgs: {
        # nix develop, then: cargo run / scripts/test / bash .ci/run
        default = pkgs.mkShell {
          packages = [
            pkgs.rustc
            pkgs.cargo
            pkgs.clippy
            pkgs.rustfmt
            pkgs.pkg-config
            pkgs.openssl
            pkgs.sqlite # the sqlite3 shell, for looking inside a vault
            pkgs.nats-server # for the sync tests; scripts/test uses the one on PATH
            pkgs.age # opens exported bundles
          ]
          ++ guiRuntimeLibs pkgs;

          # rust-analyzer and friends find the standard library sources here.
          RUST_SRC_PATH = "${pkgs.rustPlatform.rustLibSrc}";
          # The GUI dlopens these at run time (see guiRuntimeLibs).
          LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (guiRuntimeLibs pkgs);
        };
      });
    };
}
