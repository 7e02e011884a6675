export { toValidatedImages, toValidationNeededCondition, VALIDATED_IMAGES_ANNOTATIONS } from './validated-images.js';
