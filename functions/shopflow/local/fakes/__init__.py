"""Local fake servers of the sales channels shopflow pushes stock to, faithful to their documented APIs."""
