"""Each exported sample's mesh: the one its shard kept, or regenerated from the recipe.

A generated sample is a pure function of its recipe and id, so a mesh the shards did not keep
(``output.keep_meshes: false``) is made again by generating the sample once more with meshes
kept. The regenerated sample must have the shard's checksum, or the recipe (or the code) is
not the one that made the shards and its mesh would not be the sample's: that is an error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anomalygen.shards import Dataset, Sample


def mesh_to_obj(mesh_ply: bytes) -> str:
    """A PLY mesh (bytes) as OBJ text."""
    import trimesh

    from anomalygen.mesh_ply import decode_mesh

    mesh = decode_mesh(mesh_ply)
    return trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_color=False, include_texture=False)


class MeshSource:
    """``mesh(sample)``: its PLY bytes from the shard, else regenerated from ``recipe`` (a path;
    None: no regeneration, a sample without a kept mesh has none)."""

    def __init__(self, recipe: str | Path | None = None, cache_dir: str | Path | None = None):
        self.recipe_path = recipe
        self.cache_dir = cache_dir
        self.regenerated = 0
        self._recipe = self._jobs = None
        self._probed: dict[str, bytes] = {}

    def mesh(self, sample: Sample) -> bytes | None:
        if sample.mesh_ply or self.recipe_path is None:
            return sample.mesh_ply
        self.regenerated += 1
        return self._probed.pop(sample.sample_id, None) or self._regenerate(sample)

    def probe(self, dataset: Dataset) -> None:
        """Regenerate the first sample whose shard kept no mesh, so that a wrong recipe fails
        before anything is written (its mesh is kept for :meth:`mesh`)."""
        shard = next((s for s in dataset.shards if not s.has_meshes), None)
        if self.recipe_path is not None and shard is not None and len(shard):
            sample = shard.read(0)
            self._probed[sample.sample_id] = self._regenerate(sample)

    def _regenerate(self, sample: Sample) -> bytes:
        from anomalygen.generate import SampleFailed, make_sample
        from anomalygen.pipeline import job_cache_dir, prepared_mesh

        recipe, jobs = self._plan()
        job = jobs.get(sample.sample_id)
        if job is None:
            raise ValueError(f"{self.recipe_path}: plans no sample {sample.sample_id}; "
                             "pass the recipe that made the shards")
        try:
            again = make_sample(job, recipe, prepared_mesh(recipe, job.class_name, job_cache_dir(self.cache_dir)))
        except SampleFailed as error:
            raise ValueError(f"{self.recipe_path}: regenerating {sample.sample_id} failed ({error})") from None
        if again.checksum != sample.checksum:
            raise ValueError(f"{self.recipe_path}: regenerated {sample.sample_id} differs from the shard's (checksum "
                             f"{again.checksum[:12]} != {sample.checksum[:12]}); pass the recipe that made the shards")
        return again.mesh_ply

    def _plan(self):
        """The recipe with meshes kept (which changes no sample's checksum) and its jobs by id."""
        if self._recipe is None:
            from anomalygen.plan import sample_jobs
            from anomalygen.recipe import load_recipe

            recipe = load_recipe(self.recipe_path)
            self._recipe = dataclasses.replace(recipe, output=dataclasses.replace(recipe.output, keep_meshes=True))
            self._jobs = {job.sample_id: job for job in sample_jobs(self._recipe)}
        return self._recipe, self._jobs
