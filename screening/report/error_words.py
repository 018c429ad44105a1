"""What each error code means, in Indonesian: reporters put it before the (English) detail, which
names sizes, limits and paths, so that a reader of the Indonesian output knows what went wrong."""

from __future__ import annotations

ERROR_ID: dict[str, str] = {
    # The photo itself (screening.errors).
    "error": "pemeriksaan gagal",
    "image_error": "berkas tidak dapat dibaca sebagai foto",
    "unsupported_format": "format berkas tidak dikenali sebagai gambar",
    "corrupt_image": "berkas gambar rusak atau terpotong",
    "image_too_large": "gambar terlalu besar untuk diperiksa",
    "empty_input": "berkas kosong",
    "model_error": "model pendeteksi tidak dapat dipakai",
    "model_missing": "berkas model belum diunduh (jalankan 'screening models fetch')",
    "model_corrupt": "berkas model rusak (sha256 tidak cocok)",
    "registry_error": "registri tidak dapat dipakai",
    "enrollment_error": "pendaftaran gagal",
    "rules_error": "berkas aturan (rules.toml) tidak dapat dipakai",
    # Batch screening (screening.batch).
    "read_error": "berkas tidak dapat dibaca",
    "too_large": "berkas melebihi batas ukuran",
    "archive_error": "arsip rusak atau tidak dapat dibaca",
    "encrypted": "anggota arsip terenkripsi",
    "zip_bomb": "anggota arsip mengembang terlalu besar (zip bomb)",
    "unsafe_path": "nama anggota arsip tidak aman",
    "symlink_outside_source": "tautan simbolik keluar dari folder sumber (tidak diikuti)",
    "worker_crashed": "proses pemeriksa berhenti mendadak",
    "timeout": "pemeriksaan melewati batas waktu",
    "screening_failed": "pemeriksaan gagal",
}


def error_id(code: str | None) -> str:
    """The Indonesian meaning of an error ``code`` ("" for a code it does not know)."""
    return ERROR_ID.get(code or "", "")
