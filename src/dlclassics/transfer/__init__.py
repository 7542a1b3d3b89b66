"""Transfer learning: adapt an ImageNet backbone to an image folder, fine-tuned or frozen."""
